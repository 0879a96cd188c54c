import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes that survive a crash: fsync of files and directories, and replace-by-rename. Every failed system call is
/// reported with its path and cause (`IOCause`).
package enum Durability {
    /// Flushes a file's (or a directory's) contents and metadata to the device.
    package static func fsync(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw StorageError(path: path, "cannot open to fsync", cause: .current) }
        defer { close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw StorageError(path: path, "fsync failed", cause: .current) }
    }

    /// Renames `from` to `to` (atomic on one file system, replacing a file at `to`) and makes the rename durable.
    package static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw StorageError(path: to, "cannot rename \(from) here", cause: .current)
        }
        try fsync((to as NSString).deletingLastPathComponent.isEmpty ? "." : (to as NSString).deletingLastPathComponent)
    }

    /// Creates the directory `path` and any missing parents (an existing directory is fine).
    package static func makeDirectories(_ path: String) throws {
        guard !path.isEmpty else { return }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeDirectories(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw StorageError(path: path, "cannot create the directory", cause: .current)
        }
    }

    /// Creates `path`, which must not exist, holding `data`, and fsyncs it; a failure removes what it created.
    /// `failingWithNoSpace` is for fault injection: the kernel then refuses the write with ENOSPC, as on a full disk.
    package static func createFile(_ data: Data, at path: String, failingWithNoSpace: Bool = false) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError(path: path, "cannot create", cause: .current) }
        var isOpen = true
        do {
            if failingWithNoSpace { try failWritesWithNoSpace(descriptor: fd) }
            try writeAll(data, to: fd, path: path)
            guard Glibc.fsync(fd) == 0 else { throw StorageError(path: path, "fsync failed", cause: .current) }
            isOpen = false
            guard close(fd) == 0 else { throw StorageError(path: path, "close failed", cause: .current) }
        } catch {
            if isOpen { close(fd) }
            unlink(path)
            throw error
        }
    }

    /// Writes `data` to `path` through a temporary file, fsync and rename: readers see the old file or the new
    /// one, never a part, and a failure leaves no temporary behind.
    package static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        try createFile(data, at: temporary)
        do { try rename(temporary, to: path) } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Points `descriptor` at /dev/full, where every write fails in the kernel with ENOSPC: fault injection that
    /// takes the same error path as a disk that is really full.
    package static func failWritesWithNoSpace(descriptor: Int32) throws {
        let full = open("/dev/full", O_WRONLY | O_CLOEXEC)
        guard full >= 0 else { throw StorageError(path: "/dev/full", "cannot open for fault injection", cause: .current) }
        defer { close(full) }
        guard dup2(full, descriptor) >= 0 else {
            throw StorageError(path: "/dev/full", "cannot redirect a descriptor for fault injection", cause: .current)
        }
    }

    private static func writeAll(_ data: Data, to fd: Int32, path: String) throws {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    throw StorageError(path: path, "cannot write \(bytes.count) bytes", cause: .current)
                }
                offset += written
            }
        }
    }
}
