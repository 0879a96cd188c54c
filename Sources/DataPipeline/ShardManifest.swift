import Foundation
import Storage

/// The manifest of a set of shards (`manifest.json` beside them): what `prepare` wrote and the loader opens.
package struct ShardManifest: Codable, Sendable, Equatable {
    package static let currentFormat = "vqvae2.shards.v1"
    package static let fileName = "manifest.json"

    package var format = ShardManifest.currentFormat
    package var kind: ShardKind
    package var imageSize: Int
    package var classes: [ImageClass]
    /// "train" and "heldout" (the split `evaluate` uses and training never reads).
    package var splits: [String: Split]
    package var source: String
    package var seed: UInt64
    package var datasetNames: DatasetNames
    /// Files skipped while converting, with their reasons (absent for shards written by other tools).
    package var skipped: [SkippedFile]?
    /// For code shards: the fingerprint of the VQ-VAE weights that made the codes.
    package var producer: String?

    package init(
        kind: ShardKind, imageSize: Int, classes: [ImageClass], splits: [String: Split], source: String, seed: UInt64,
        datasetNames: DatasetNames = DatasetNames(), skipped: [SkippedFile]? = nil
    ) {
        self.kind = kind
        self.imageSize = imageSize
        self.classes = classes
        self.splits = splits
        self.source = source
        self.seed = seed
        self.datasetNames = datasetNames
        self.skipped = skipped
    }

    /// The shards of one split.
    package struct Split: Codable, Sendable, Equatable {
        package var shards: [Shard]
        package var count: Int { shards.reduce(0) { $0 + $1.count } }
        package init(shards: [Shard]) { self.shards = shards }
    }

    /// One shard file: its name relative to the manifest, its image count and CRC-32 of the whole file.
    package struct Shard: Codable, Sendable, Equatable {
        package var file: String
        package var count: Int
        package var crc32: String
        package var bytes: Int
        package init(file: String, count: Int, crc32: String, bytes: Int) {
            self.file = file
            self.count = count
            self.crc32 = crc32
            self.bytes = bytes
        }

        /// The entry of the finished shard file at `path` holding `count` samples: its size and CRC-32 as on disk.
        package init(describing path: String, count: Int) throws {
            let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            self.init(
                file: (path as NSString).lastPathComponent, count: count, crc32: String(format: "%08x", try CRC32.file(path)),
                bytes: bytes)
        }

        /// Makes a shard written under `temporaryPath` durable and gives it its final name `path`; returns its entry.
        static func commit(_ temporaryPath: String, as path: String, count: Int) throws -> Shard {
            try Durability.fsync(temporaryPath)
            try Durability.rename(temporaryPath, to: path)
            return try Shard(describing: path, count: count)
        }
    }

    /// Reads and checks a manifest; errors name the file and the field.
    package static func load(_ path: String) throws -> ShardManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ShardError(file: path, "cannot read the manifest")
        }
        let manifest: ShardManifest
        do {
            manifest = try JSONDecoder().decode(ShardManifest.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw ShardError(file: path, "missing field '\(key.stringValue)'")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw ShardError(
                file: path, "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ShardError(file: path, "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw ShardError(file: path, "not a shard manifest (\(error))")
        }
        guard manifest.format == currentFormat else {
            throw ShardError(file: path, "field 'format' is '\(manifest.format)', expected '\(currentFormat)'")
        }
        guard manifest.imageSize > 0 else { throw ShardError(file: path, "field 'imageSize' must be positive") }
        return manifest
    }

    /// Writes the manifest atomically (a reader sees the old one or the new one).
    package func save(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Durability.writeAtomically(try encoder.encode(self), to: path)
    }
}

/// The names of the datasets inside a shard; other tools' shards may use other names.
package struct DatasetNames: Codable, Sendable, Equatable {
    package var images: String
    package var labels: String
    package var top: String
    package var bottom: String

    package init(images: String = "images", labels: String = "labels", top: String = "top", bottom: String = "bottom") {
        self.images = images
        self.labels = labels
        self.top = top
        self.bottom = bottom
    }
}

/// A shard or manifest that cannot be used, naming the file (and dataset).
package struct ShardError: Error, CustomStringConvertible {
    package let file: String
    package let message: String
    package init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }
    package var description: String { "\(file): \(message)" }
}
