import CHDF5
import Storage

/// A failed HDF5 operation, naming the file and the object it was about, and the operating system's cause when a
/// system call inside HDF5 failed (a full disk, a read-only mount, a permission).
package struct HDF5Error: Error, CustomStringConvertible {
    package let file: String
    package let object: String
    package let message: String
    package let cause: IOCause?

    package init(file: String, object: String = "", _ message: String, cause: IOCause? = nil) {
        self.file = file
        self.object = object
        self.message = message
        self.cause = cause
    }

    /// The error of the HDF5 call that just failed on this thread: `what` failed, because of the system call
    /// recorded on HDF5's error stack, or else (when no system call failed) for the reason `guess` suggests.
    static func afterFailedCall(file: String, object: String = "", _ what: String, guess: String? = nil) -> HDF5Error {
        let cause = stackCause()
        let message = cause == nil ? guess.map { "\(what) (\($0))" } ?? what : what
        return HDF5Error(file: file, object: object, message, cause: cause)
    }

    /// The cause on the calling thread's HDF5 error stack: a named one (ENOSPC, EDQUOT, EROFS, EACCES) if any
    /// entry has one, since the calls that fail after it report their own errnos, else the innermost.
    private static func stackCause() -> IOCause? {
        var numbers = [Int32](repeating: 0, count: 16)
        let count = Int(ch5_stack_errnos(&numbers, Int32(numbers.count)))
        let causes = numbers.prefix(count).map { IOCause(errno: $0) }
        return causes.first(where: \.isNamed) ?? causes.first
    }

    package var description: String {
        let base = object.isEmpty ? "\(file): \(message)" : "\(file): \(object): \(message)"
        return cause.map { "\(base): \($0)" } ?? base
    }
}
