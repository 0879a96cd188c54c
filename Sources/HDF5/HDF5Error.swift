/// A failed HDF5 operation, naming the file and the object it was about.
public struct HDF5Error: Error, CustomStringConvertible {
    public let file: String
    public let object: String
    public let message: String

    public init(file: String, object: String = "", _ message: String) {
        self.file = file
        self.object = object
        self.message = message
    }

    public var description: String {
        object.isEmpty ? "\(file): \(message)" : "\(file): \(object): \(message)"
    }
}
