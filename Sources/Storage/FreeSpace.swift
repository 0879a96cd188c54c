#if canImport(Glibc)
import Glibc
#endif

/// Free space on a filesystem, as statvfs reports it: what an unprivileged writer may still use. Quotas are not
/// seen, so a write can still fail with EDQUOT after the check passed.
package enum FreeSpace {
    /// The bytes available on the filesystem that holds `path`, or would hold it: a path that does not exist yet
    /// is measured at its nearest existing ancestor.
    package static func availableBytes(at path: String) throws -> Int {
        var probe = path.isEmpty ? "." : path
        var info = statvfs()
        while statvfs(probe, &info) != 0 {
            guard errno == ENOENT, probe != "/", probe != "." else {
                throw StorageError(path: probe, "cannot measure the free space", cause: .current)
            }
            let parent = String(probe[..<(probe.lastIndex(of: "/") ?? probe.startIndex)])
            probe = parent.isEmpty ? (probe.hasPrefix("/") ? "/" : ".") : parent
        }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }
}
