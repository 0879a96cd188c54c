import Foundation
import HDF5

/// The names of the classes of existing shards, in label order, and where they came from: a names file, the
/// shards' own `class_names` (an attribute of the root, or a dataset), or the label numbers.
package struct ClassNames: Codable, Sendable, Equatable {
    package var names: [String]
    /// WordNet ids, when the shards record them (`class_wnids`, as `prepare` writes).
    package var wnids: [String]?
    /// For the report: "names.txt", "attribute 'class_names' of train-0.h5", "the label numbers".
    package var origin: String

    package init(names: [String], wnids: [String]? = nil, origin: String) {
        self.names = names
        self.wnids = wnids
        self.origin = origin
    }

    /// One name per line of the text file at `path`; a blank last line is allowed, blank lines between are not.
    package init(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ShardError(file: path, "cannot read the class names file")
        }
        var lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard !lines.isEmpty else { throw ShardError(file: path, "names no class: expected one class name per line") }
        if let blank = lines.firstIndex(of: "") {
            throw ShardError(file: path, "line \(blank + 1) is blank: expected one class name per line, in label order")
        }
        self.init(names: lines, origin: path)
    }

    /// The names `shard` gives its classes: its `class_names` attribute, else its `class_names` dataset; one
    /// string of several lines is one name per line. Nil when it has neither.
    init?(inShard shard: File, file: String) throws {
        let key = "class_names"
        let names: [String]
        let origin: String
        do {
            if shard.root.hasAttribute(key) {
                names = try shard.root.stringsAttribute(key)
                origin = "attribute '\(key)' of \(file)"
            } else if shard.root.contains(key) {
                names = try shard.root.openDataset(key).readStrings()
                origin = "dataset '\(key)' of \(file)"
            } else {
                return nil
            }
        } catch {
            throw ShardError(file: shard.path, "'\(key)' must hold strings, one class name each (\(error))")
        }
        let lines = Self.lines(names)
        guard !lines.isEmpty, !lines.contains("") else {
            throw ShardError(file: shard.path, "\(origin) holds a blank class name (\(names))")
        }
        let wnids = shard.root.hasAttribute("class_wnids") ? try? Self.lines(shard.root.stringsAttribute("class_wnids")) : nil
        self.init(names: lines, wnids: wnids?.count == lines.count ? wnids : nil, origin: origin)
    }

    /// Names "0" ..< "count", when nothing names the classes.
    package static func numbered(_ count: Int) -> ClassNames {
        ClassNames(names: (0..<count).map(String.init), origin: "the label numbers (0..<\(count))")
    }

    package var classes: [ImageClass] {
        names.indices.map { ImageClass(index: $0, wnid: wnids?[$0] ?? names[$0], name: names[$0]) }
    }

    /// A single string of several lines, as `prepare`'s shards hold, is one name per line.
    private static func lines(_ strings: [String]) -> [String] {
        guard strings.count == 1 else { return strings }
        var lines = strings[0].components(separatedBy: "\n")
        while lines.count > 1 && lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }
}
