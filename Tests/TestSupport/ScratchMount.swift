import Foundation
import XCTest

/// A small tmpfs mounted for a test, for failures only a real filesystem gives (ENOSPC, EROFS). Mounting needs
/// root and a kernel or container that allows it; where it does not, the test is skipped with the reason.
package final class ScratchMount {
    package let path: String
    private var mounted = true

    /// Mounts a tmpfs of `bytes` (read-only with `readOnly`) on a fresh directory, or throws XCTSkip.
    package init(bytes: Int, readOnly: Bool = false, label: String) throws {
        path = try TestEnvironment.temporaryDirectory("tmpfs-\(label)").path
        let options = "size=\(bytes)" + (readOnly ? ",ro" : "")
        let result = try TestEnvironment.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path], timeout: 30)
        guard result.status == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw XCTSkip("cannot mount a \(bytes)-byte tmpfs here (needs root and mount rights): \(result.output)")
        }
    }

    deinit { unmount() }

    /// Unmounts (lazily, so a file a failed write left open cannot keep it busy) and removes the directory.
    package func unmount() {
        guard mounted else { return }
        mounted = false
        _ = try? TestEnvironment.run(["umount", "-l", path], timeout: 30)
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Fills the filesystem with one file, `filler`, until about `spare` bytes are left (none: until a write fails).
    package func fill(leaving spare: Int = 0) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: create("filler")))
        defer { try? handle.close() }
        let block = Data(count: 4096)
        while true {
            var info = statvfs()
            guard statvfs(path, &info) == 0 else { return }
            if spare > 0 && Int(info.f_bavail) * Int(info.f_frsize) <= spare + block.count { return }
            guard (try? handle.write(contentsOf: block)) != nil else { break }
        }
        // The last page may hold less than a block.
        while (try? handle.write(contentsOf: Data(count: 1))) != nil {}
    }

    private func create(_ name: String) -> String {
        let file = path + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        return file
    }
}
