import Foundation

/// What `vqvae2 index` adopts: existing image shards in one folder, split by file-name patterns.
package struct IndexOptions: Sendable {
    package var directory: String
    /// Split name -> shell patterns on file names, "train" and "heldout" (the split training never reads).
    package var patterns: [(split: String, patterns: [String])]
    package var names: DatasetNames
    /// A text file naming the classes, one per line in label order; without it the shards' own `class_names`, or
    /// the label numbers.
    package var classNamesFile: String?

    package init(
        directory: String, patterns: [(split: String, patterns: [String])], names: DatasetNames = DatasetNames(),
        classNamesFile: String? = nil
    ) {
        self.directory = directory
        self.patterns = patterns
        self.names = names
        self.classNamesFile = classNamesFile
    }

    package var manifestPath: String { directory + "/" + ShardManifest.fileName }
}

/// Existing shards checked one by one (`ShardCheck`) and then as a set: one image size, one list of class names,
/// every label within it. It makes their manifest once every shard's CRC-32 is known.
package struct ShardIndex: Sendable {
    package let selection: ShardSelection
    /// One per file of `selection.files`, in that order.
    package let checks: [ShardCheck]
    package let classNames: ClassNames
    package let imageSize: Int
    package let names: DatasetNames

    /// Checks the shards as a set. `namesFile` holds the class names of the names file, if one was given.
    package init(selection: ShardSelection, checks: [ShardCheck], names: DatasetNames, namesFile: ClassNames?) throws {
        precondition(checks.map(\.file) == selection.files, "one check per selected file, in order")
        let path = { (check: ShardCheck) in selection.directory + "/" + check.file }
        let first = checks[0]
        if let other = checks.first(where: { $0.imageSize != first.imageSize }) {
            throw ShardError(
                file: path(other),
                "dataset '\(names.images)' holds \(other.imageSize)x\(other.imageSize) images, \(first.file)'s are "
                    + "\(first.imageSize)x\(first.imageSize): every shard of a set must hold one size")
        }
        let classNames: ClassNames
        if let namesFile {
            classNames = namesFile
        } else if let named = checks.first(where: { $0.classNames != nil }), let names = named.classNames {
            for check in checks {
                guard let other = check.classNames, other.names != names.names else { continue }
                throw ShardError(
                    file: path(check),
                    "\(other.origin) lists \(other.names.count) classes (\(Self.preview(other.names))), but \(names.origin) "
                        + "lists \(names.names.count) (\(Self.preview(names.names))): the shards must agree, or --class-names "
                        + "must name the classes")
            }
            classNames = names
        } else {
            classNames = .numbered((checks.map(\.largestLabel).max() ?? 0) + 1)
        }
        for check in checks {
            try ShardCheck.checkRange(
                check.largestLabel, row: check.largestLabelRow, classCount: classNames.names.count, in: path(check),
                "dataset '\(names.labels)'")
        }
        self.selection = selection
        self.checks = checks
        self.classNames = classNames
        self.imageSize = first.imageSize
        self.names = names
    }

    private static func preview(_ names: [String]) -> String {
        names.prefix(4).joined(separator: ", ") + (names.count > 4 ? ", ..." : "")
    }

    /// Each distinct read-speed warning with the shards it applies to, in shard order.
    package var warnings: [(text: String, files: [String])] {
        var order: [String] = []
        var files: [String: [String]] = [:]
        for check in checks {
            for warning in check.warnings {
                if files[warning] == nil { order.append(warning) }
                files[warning, default: []].append(check.file)
            }
        }
        return order.map { ($0, files[$0]!) }
    }

    /// The manifest, given every shard's entry (`ShardManifest.Shard(describing:count:)`, with its CRC-32) in the
    /// order of `selection.files`.
    package func manifest(entries: [ShardManifest.Shard]) -> ShardManifest {
        precondition(entries.map(\.file) == selection.files, "one entry per selected file, in order")
        var byFile: [String: ShardManifest.Shard] = [:]
        for entry in entries { byFile[entry.file] = entry }
        let splits = Dictionary(uniqueKeysWithValues: selection.splits.map { split in
            (split.name, ShardManifest.Split(shards: split.files.map { byFile[$0]! }))
        })
        let source = URL(fileURLWithPath: selection.directory).standardizedFileURL.path
        return ShardManifest(
            kind: .images, imageSize: imageSize, classes: classNames.classes, splits: splits,
            source: "existing shards in \(source), indexed", seed: 0, datasetNames: names)
    }
}
