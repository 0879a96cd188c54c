/// A file-system operation that failed, naming the path and, when a system call failed, the operating system's
/// cause.
package struct StorageError: Error, CustomStringConvertible {
    package let path: String
    package let message: String
    package let cause: IOCause?

    package init(path: String, _ message: String, cause: IOCause? = nil) {
        self.path = path
        self.message = message
        self.cause = cause
    }

    package var description: String { cause.map { "\(path): \(message): \($0)" } ?? "\(path): \(message)" }
}
