/// A file-system operation that failed, naming the path.
package struct StorageError: Error, CustomStringConvertible {
    package let path: String
    package let message: String

    package init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    package var description: String { "\(path): \(message)" }
}
