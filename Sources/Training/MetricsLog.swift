import Foundation

/// Appends one JSON object per line to the run's metrics file (rank 0 only), for plots and for people.
package final class MetricsLog {
    package let path: String
    private let handle: FileHandle
    private let encoder = JSONEncoder()

    package init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        self.handle = handle
        handle.seekToEndOfFile()
        encoder.outputFormatting = .sortedKeys
    }

    deinit { try? handle.close() }

    /// Writes `record` as one line, tagged with `kind` ("train", "eval").
    package func append<T: Encodable>(_ record: T, kind: String) throws {
        var line = try encoder.encode(record)
        // {"kind":"train",...}: splice the kind into the object rather than nesting it.
        line.removeFirst()
        var tagged = Data("{\"kind\":\"\(kind)\",".utf8)
        tagged.append(line)
        tagged.append(0x0A)
        handle.write(tagged)
    }
}
