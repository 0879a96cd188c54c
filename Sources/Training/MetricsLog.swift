import Foundation

/// Appends one JSON object per line to the run's metrics file (rank 0 only), for plots and for people.
///
/// A resumed run continues the file of the run it resumes: the records after the resumed step (written before a
/// crash, by steps the run now takes again) are dropped when it opens the file, and a record of a kind and step
/// that the file already holds is not written twice, so that no step appears twice.
package final class MetricsLog {
    package let path: String
    private let handle: FileHandle
    private let encoder = JSONEncoder()
    private var written: Set<Key>

    private struct Key: Hashable {
        var kind: String
        var step: Int
    }

    /// Opens `path` for appending; `resumedStep` (a resumed run's step) drops every record of a later step first.
    package init(path: String, resumedStep: Int? = nil) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true)
        var lines = FileManager.default.contents(atPath: path).map { Self.lines($0) } ?? []
        if let resumedStep, lines.contains(where: { (Self.key($0)?.step ?? 0) > resumedStep }) {
            lines.removeAll { (Self.key($0)?.step ?? 0) > resumedStep }
            let kept = lines.reduce(into: Data()) { $0.append($1); $0.append(0x0A) }
            try kept.write(to: URL(fileURLWithPath: path), options: .atomic)
        } else if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        self.handle = handle
        handle.seekToEndOfFile()
        written = Set(lines.compactMap(Self.key))
        encoder.outputFormatting = .sortedKeys
    }

    deinit { try? handle.close() }

    /// Writes `record` as one line, tagged with `kind` ("train", "eval"), unless the file already holds a record of
    /// that kind for the same step.
    package func append<T: Encodable>(_ record: T, kind: String) throws {
        var line = try encoder.encode(record)
        // {"kind":"train",...}: splice the kind into the object rather than nesting it.
        line.removeFirst()
        var tagged = Data("{\"kind\":\"\(kind)\",".utf8)
        tagged.append(line)
        if let key = Self.key(tagged) {
            guard written.insert(key).inserted else { return }
        }
        tagged.append(0x0A)
        handle.write(tagged)
    }

    private static func lines(_ data: Data) -> [Data] {
        data.split(separator: 0x0A).map { Data($0) }.filter { !$0.isEmpty }
    }

    /// The kind and step of one line, nil for a line without them.
    private static func key(_ line: Data) -> Key? {
        guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
            let kind = object["kind"] as? String, let step = object["step"] as? Int
        else { return nil }
        return Key(kind: kind, step: step)
    }
}
