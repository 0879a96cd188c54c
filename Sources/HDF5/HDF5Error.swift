/// A failed HDF5 operation, naming the file and the object it was about.
package struct HDF5Error: Error, CustomStringConvertible {
    package let file: String
    package let object: String
    package let message: String

    package init(file: String, object: String = "", _ message: String) {
        self.file = file
        self.object = object
        self.message = message
    }

    package var description: String {
        object.isEmpty ? "\(file): \(message)" : "\(file): \(object): \(message)"
    }
}
