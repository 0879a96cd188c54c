import Foundation

/// The commit marker of a checkpoint: written by rank 0 after every shard is durable, as `manifest.json`.
package struct Manifest: Codable, Equatable, Sendable {
    /// The layout version this code writes and reads.
    package static let currentFormatVersion = 1

    package var formatVersion: Int
    package var step: Int
    /// The number of ranks (and shards) that wrote the checkpoint; any world size may load it.
    package var worldSize: Int
    /// When rank 0 committed it (ISO 8601, UTC).
    package var created: String
    package var metadata: CheckpointMetadata
    /// The configuration file's text of the run that wrote it.
    package var config: String
    /// A string that changes whenever the model's tensor layout does; loading requires the same one.
    package var modelFingerprint: String
    package var tensors: [TensorRecord]
    package var shards: [ShardRecord]

    /// Where one tensor lives.
    package struct TensorRecord: Codable, Equatable, Sendable {
        package var name: String
        package var shape: [Int]
        /// The shard index (0-based; the file name counts from 1).
        package var shard: Int
        /// CRC-32 of the tensor's fp32 values as stored (little-endian), eight hex digits.
        package var crc32: String
    }

    /// One rank's file.
    package struct ShardRecord: Codable, Equatable, Sendable {
        package var index: Int
        package var file: String
        package var bytes: Int
        /// CRC-32 of the whole file, eight hex digits.
        package var crc32: String
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case step
        case worldSize = "world_size"
        case created, metadata, config
        case modelFingerprint = "model_fingerprint"
        case tensors, shards
    }

    /// The manifest as the pretty, key-sorted JSON stored on disk.
    package func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads and checks `file`: parses, a known format version, and references that hold together (every
    /// tensor in an existing shard, one record per shard, unique names, positive shapes).
    package static func read(_ file: String) throws -> Manifest {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CheckpointError.io(path: file, "cannot read the manifest")
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw CheckpointError.invalidManifest(file: file, field: path(context, key), "missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw CheckpointError.invalidManifest(file: file, field: path(context, nil), "has the wrong type")
        } catch {
            throw CheckpointError.invalidManifest(file: file, field: "(document)", "not valid JSON: \(error)")
        }
        try manifest.check(file)
        return manifest
    }

    private static func path(_ context: DecodingError.Context, _ key: CodingKey?) -> String {
        let keys = context.codingPath + (key.map { [$0] } ?? [])
        return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    private func check(_ file: String) throws {
        func fail(_ field: String, _ reason: String) -> CheckpointError {
            .invalidManifest(file: file, field: field, reason)
        }
        guard formatVersion == Manifest.currentFormatVersion else {
            throw fail("format_version", "\(formatVersion) is not the supported \(Manifest.currentFormatVersion)")
        }
        guard worldSize >= 1 else { throw fail("world_size", "\(worldSize) is not positive") }
        guard step == metadata.step else { throw fail("step", "\(step) differs from metadata.step \(metadata.step)") }
        guard shards.map(\.index) == Array(0..<worldSize) else {
            throw fail("shards", "lists shards \(shards.map(\.index)), expected one per rank 0..<\(worldSize)")
        }
        for (index, shard) in shards.enumerated() {
            guard shard.file == CheckpointLayout.shardName(index, of: worldSize) else {
                throw fail("shards[\(index)].file", "'\(shard.file)' is not \(CheckpointLayout.shardName(index, of: worldSize))")
            }
            guard shard.bytes > 0 else { throw fail("shards[\(index)].bytes", "\(shard.bytes) is not positive") }
        }
        var names = Set<String>()
        for (index, tensor) in tensors.enumerated() {
            guard names.insert(tensor.name).inserted else { throw fail("tensors[\(index)].name", "'\(tensor.name)' repeats") }
            guard (0..<worldSize).contains(tensor.shard) else {
                throw fail("tensors[\(index)].shard", "'\(tensor.name)' is in shard \(tensor.shard) of \(worldSize)")
            }
            guard !tensor.shape.isEmpty, tensor.shape.allSatisfy({ $0 > 0 }) else {
                throw fail("tensors[\(index)].shape", "'\(tensor.name)' has shape \(tensor.shape)")
            }
        }
    }

    /// The record of the tensor named `name`.
    package func tensor(_ name: String) -> TensorRecord? { tensors.first { $0.name == name } }
}
