import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The existing shard files of each split in one folder, chosen by shell patterns on their names (what
/// `vqvae2 index --train 'train-*.h5' --heldout 'val-*.h5'` adopts).
package struct ShardSelection: Codable, Sendable, Equatable {
    /// One split: its name, the patterns that chose its files, and the files, in natural name order (train-2 before
    /// train-10).
    package struct Split: Codable, Sendable, Equatable {
        package var name: String
        package var patterns: [String]
        package var files: [String]
    }

    package let directory: String
    package let splits: [Split]

    /// Every file, split by split: the order in which ranks deal the shards and the manifest lists them.
    package var files: [String] { splits.flatMap(\.files) }

    /// The positions in `files` that `rank` of `ranks` checks: shard i on rank i mod ranks.
    package func positions(forRank rank: Int, of ranks: Int) -> [Int] {
        Array(stride(from: rank, to: files.count, by: ranks))
    }

    /// Matches `patterns` (split name -> patterns, in the order given) against the names of the files directly in
    /// `directory`. Every split needs a pattern, every pattern must match a file, and no file may match two splits.
    package init(directory: String, patterns: [(split: String, patterns: [String])]) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ShardError(file: directory, "is not a folder")
        }
        // Only files, and never a manifest: a subfolder named like a shard is not one, nor is `--train '*'`'s manifest.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { name in
            var isFolder: ObjCBool = false
            guard name != ShardManifest.fileName else { return false }
            return FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isFolder) && !isFolder.boolValue
        }
        var owner: [String: String] = [:]
        var splits: [Split] = []
        for (split, list) in patterns {
            guard !list.isEmpty else { throw ShardError(file: directory, "no pattern chooses the \(split) shards") }
            var files: Set<String> = []
            for pattern in list {
                guard !pattern.contains("/") else {
                    throw ShardError(
                        file: directory, "the \(split) pattern '\(pattern)' holds a '/': patterns match the names of the files in the folder itself")
                }
                let matched = names.filter { fnmatch(pattern, $0, FNM_PERIOD) == 0 }
                guard !matched.isEmpty else {
                    let shown = names.sorted().prefix(8).joined(separator: ", ") + (names.count > 8 ? ", ..." : "")
                    throw ShardError(
                        file: directory, "no file matches the \(split) pattern '\(pattern)' (the folder holds: \(names.isEmpty ? "nothing" : shown))")
                }
                files.formUnion(matched)
            }
            for file in files {
                if let other = owner[file], other != split {
                    throw ShardError(file: directory + "/" + file, "matches both the \(other) and the \(split) patterns")
                }
                owner[file] = split
            }
            splits.append(Split(
                name: split, patterns: list,
                files: files.sorted { $0.compare($1, options: .numeric) == .orderedAscending }))
        }
        self.directory = directory
        self.splits = splits
    }
}
