import Foundation
import HDF5
import Storage

/// A committed checkpoint on disk, its manifest read and checked; loads the state written by any world size.
package struct Checkpoint: Sendable {
    package let path: String
    package let manifest: Manifest

    /// Opens `path` (a `step-NNNNNNNN` directory); a directory without a manifest is not committed and is refused.
    package init(path: String) throws {
        let manifestPath = CheckpointLayout.join(path, CheckpointLayout.manifestName)
        guard FileManager.default.fileExists(atPath: manifestPath) else { throw CheckpointError.notCommitted(directory: path) }
        self.path = path
        manifest = try Manifest.read(manifestPath)
    }

    /// The path of shard `index`.
    package func shardPath(_ index: Int) -> String { CheckpointLayout.join(path, manifest.shards[index].file) }

    /// Fills every tensor in `tensors` (a subset of the saved state is fine) and returns the metadata.
    ///
    /// Everything that can be checked before a buffer is touched is: the model fingerprint, each tensor's presence
    /// and shape, and the existence, size and CRC-32 of every shard needed. After that only a shard whose contents
    /// pass their checksum but disagree with the manifest could fail the load midway; treat any error as fatal.
    package func load(into tensors: [StateTensor], modelFingerprint: String) throws -> CheckpointMetadata {
        guard manifest.modelFingerprint == modelFingerprint else {
            throw CheckpointError.differentModel(checkpoint: path, found: manifest.modelFingerprint, expected: modelFingerprint)
        }
        try StateTensor.validate(tensors)
        var records: [Manifest.TensorRecord] = []
        for tensor in tensors {
            guard let record = manifest.tensor(tensor.name) else {
                throw CheckpointError.missingTensor(checkpoint: path, tensor: tensor.name)
            }
            guard record.shape == tensor.shape else {
                throw CheckpointError.shapeMismatch(checkpoint: path, tensor: tensor.name, stored: record.shape, expected: tensor.shape)
            }
            records.append(record)
        }
        let needed = Set(records.map(\.shard)).sorted()
        for shard in needed { try verifyShard(shard) }
        for shard in needed {
            let file = try File(path: shardPath(shard), mode: .readOnly)
            for (tensor, record) in zip(tensors, records) where record.shard == shard {
                try ShardFile.read(tensor, from: file)
                let crc = ShardFile.checksum(tensor.buffer)
                guard crc == record.crc32 else {
                    throw CheckpointError.tensorChecksum(file: file.path, tensor: tensor.name, expected: record.crc32, found: crc)
                }
            }
        }
        return manifest.metadata
    }

    /// Checks that shard `index` exists with the size and CRC-32 the manifest records.
    package func verifyShard(_ index: Int) throws {
        let record = manifest.shards[index]
        let file = shardPath(index)
        guard FileManager.default.fileExists(atPath: file) else { throw CheckpointError.missingShard(file: file) }
        let bytes = try ShardFile.fileSize(file)
        guard bytes == record.bytes else { throw CheckpointError.shardSize(file: file, expected: record.bytes, found: bytes) }
        let crc = String(format: "%08x", try CRC32.file(file))
        guard crc == record.crc32 else { throw CheckpointError.shardChecksum(file: file, expected: record.crc32, found: crc) }
    }

    /// Checks every shard's size and checksum and reads every tensor back against its own checksum: what
    /// `vqvae2 checkpoint verify` runs. Throws the first problem.
    package func verify() throws {
        for shard in manifest.shards.indices { try verifyShard(shard) }
        for shard in manifest.shards.indices {
            let file = try File(path: shardPath(shard), mode: .readOnly)
            for record in manifest.tensors where record.shard == shard {
                let count = record.shape.reduce(1, *)
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
                defer { buffer.deallocate() }
                try ShardFile.read(StateTensor(name: record.name, shape: record.shape, buffer: buffer), from: file)
                let crc = ShardFile.checksum(buffer)
                guard crc == record.crc32 else {
                    throw CheckpointError.tensorChecksum(file: file.path, tensor: record.name, expected: record.crc32, found: crc)
                }
            }
        }
    }
}
