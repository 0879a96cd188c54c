#if canImport(Glibc)
import Glibc
#endif

/// The operating system's reason a file operation failed (its errno), with the four an operator has to act on
/// named: a full disk, a full quota, a read-only mount and a permission.
package enum IOCause: Equatable, Sendable, CustomStringConvertible {
    case noSpace
    case quotaExceeded
    case readOnlyFileSystem
    case permissionDenied
    case other(errno: Int32)

    package init(errno number: Int32) {
        switch number {
        case ENOSPC: self = .noSpace
        case EDQUOT: self = .quotaExceeded
        case EROFS: self = .readOnlyFileSystem
        case EACCES: self = .permissionDenied
        default: self = .other(errno: number)
        }
    }

    /// The cause of the system call that just failed.
    package static var current: IOCause { IOCause(errno: Glibc.errno) }

    package var number: Int32 {
        switch self {
        case .noSpace: return ENOSPC
        case .quotaExceeded: return EDQUOT
        case .readOnlyFileSystem: return EROFS
        case .permissionDenied: return EACCES
        case .other(let number): return number
        }
    }

    /// True for the four named causes: when one failure is reported through several (HDF5's stack, say), the
    /// named one is what to tell.
    package var isNamed: Bool {
        if case .other = self { return false }
        return true
    }

    package var description: String {
        switch self {
        case .noSpace: return "no space left on device (ENOSPC)"
        case .quotaExceeded: return "disk quota exceeded (EDQUOT)"
        case .readOnlyFileSystem: return "read-only file system (EROFS)"
        case .permissionDenied: return "permission denied (EACCES)"
        case .other(let number): return String(cString: strerror(number)).lowercased() + " (errno \(number))"
        }
    }
}
