import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes that survive a crash: fsync of files and directories, and replace-by-rename.
package enum Durability {
    /// Flushes a file's (or a directory's) contents and metadata to the device.
    package static func fsync(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw StorageError(path: path, "cannot open to fsync: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw StorageError(path: path, "fsync failed: \(String(cString: strerror(errno)))") }
    }

    /// Renames `from` to `to` (atomic on one file system, replacing a file at `to`) and makes the rename durable.
    package static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw StorageError(path: to, "cannot rename \(from) here: \(String(cString: strerror(errno)))")
        }
        try fsync((to as NSString).deletingLastPathComponent.isEmpty ? "." : (to as NSString).deletingLastPathComponent)
    }

    /// Writes `data` to `path` through a temporary file, fsync and rename: readers see the old file or the new
    /// one, never a part.
    package static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw StorageError(path: temporary, "cannot write")
        }
        try fsync(temporary)
        try rename(temporary, to: path)
    }
}
