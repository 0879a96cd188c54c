import Foundation
import Storage

/// Writes sharded checkpoints under one root directory and keeps the newest `keep` of them.
///
/// `save` is a collective. Its file-level steps (`writeShard`, `commit`, `rotate`) take the rank and world size as
/// arguments, so tests drive them for several simulated ranks in one process.
package struct CheckpointWriter: Sendable {
    package let root: String
    /// How many committed checkpoints to keep (at least 1).
    package let keep: Int
    /// When this run started: temporaries last touched before it are left by saves that died, and the next commit
    /// removes them. Later ones may belong to a save in progress and are left alone.
    package let runStart: Date
    let fault: FaultInjection

    /// `fault` defaults to the faults `VQVAE2_CHECKPOINT_FAULT` plants (none, normally).
    package init(root: String, keep: Int, runStart: Date = Date(), fault: FaultInjection = FaultInjection()) {
        precondition(keep >= 1, "keep at least one checkpoint")
        self.root = root
        self.keep = keep
        self.runStart = runStart
        self.fault = fault
    }

    /// What a rank reports once its shard is durable: the file's size and CRC-32, and each of its tensors' CRC-32.
    struct ShardReport: Codable, Equatable {
        var bytes: Int
        var crc32: String
        var tensorCRCs: [String]
    }

    /// The directory a save of `step` writes into before it is committed.
    func temporaryDirectory(step: Int, nonce: String) -> String {
        CheckpointLayout.join(root, CheckpointLayout.temporaryName(step: step, nonce: nonce))
    }

    /// Writes this rank's share of `tensors` (per `plan`) into `directory`, durable when it returns.
    func writeShard(_ tensors: [StateTensor], plan: ShardPlan, rank: Int, worldSize: Int, step: Int, directory: String)
        throws -> ShardReport
    {
        try Durability.makeDirectories(directory)
        let path = CheckpointLayout.join(directory, CheckpointLayout.shardName(rank, of: worldSize))
        let mine = plan.tensors(of: rank).map { tensors[$0] }
        let written = try ShardFile.write(
            mine, to: path, step: step, shard: rank, worldSize: worldSize,
            failingWithNoSpace: fault.noSpaceInShardOfRank == rank)
        return ShardReport(bytes: written.bytes, crc32: written.crc32, tensorCRCs: written.tensorCRCs)
    }

    /// Rank 0's part once every shard is durable: the manifest, fsynced, then the rename that commits the directory.
    /// Returns the committed path. A failure before the rename removes the directory: its shards are no checkpoint
    /// without a manifest, and on a full disk they hold the space the next save needs.
    func commit(
        _ tensors: [StateTensor], plan: ShardPlan, reports: [ShardReport], metadata: CheckpointMetadata,
        config: String, modelFingerprint: String, directory: String
    ) throws -> String {
        var records = [Manifest.TensorRecord?](repeating: nil, count: tensors.count)
        for (shard, report) in reports.enumerated() {
            for (index, crc) in zip(plan.tensors(of: shard), report.tensorCRCs) {
                records[index] = .init(name: tensors[index].name, shape: tensors[index].shape, shard: shard, crc32: crc)
            }
        }
        let manifest = Manifest(
            formatVersion: Manifest.currentFormatVersion, step: metadata.step, worldSize: reports.count,
            created: ISO8601DateFormatter().string(from: Date()), metadata: metadata, config: config,
            modelFingerprint: modelFingerprint, tensors: records.map { $0! },
            shards: reports.enumerated().map {
                .init(index: $0, file: CheckpointLayout.shardName($0, of: reports.count), bytes: $1.bytes, crc32: $1.crc32)
            })
        let manifestPath = CheckpointLayout.join(directory, CheckpointLayout.manifestName)
        do {
            try Durability.createFile(try manifest.encoded(), at: manifestPath, failingWithNoSpace: fault.noSpaceInManifest)
            // The shards' and the manifest's directory entries must be durable before the name says "committed".
            try Durability.fsync(directory)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        let final = CheckpointLayout.join(root, CheckpointLayout.directoryName(step: metadata.step))
        try Durability.rename(directory, to: final)
        return final
    }

    /// Removes committed checkpoints beyond the newest `keep` (never `committed`, the one just written) and
    /// temporaries older than this run. Each removal first renames the directory to a temporary name, so a crash
    /// halfway through deleting never leaves a committed directory with shards missing. Returns what was removed.
    func rotate(keeping committed: String, nonce: String) throws -> [String] {
        let entries = try CheckpointCatalog.entries(in: root)
        let checkpoints = entries.filter { $0.step != nil && $0.path != committed }
        var doomed = Array(checkpoints.dropLast(max(keep - 1, 0)).map(\.path))
        for entry in entries where CheckpointLayout.isTemporary(entry.name) && isStale(entry.path) { doomed.append(entry.path) }
        for (index, path) in doomed.enumerated() {
            let aside = path.contains(CheckpointLayout.temporaryMarker) ? path : path + CheckpointLayout.temporaryMarker + "removing-\(nonce)-\(index)"
            if aside != path { try Durability.rename(path, to: aside) }
            do { try FileManager.default.removeItem(atPath: aside) } catch {
                throw CheckpointError.io(path: aside, "cannot remove an old checkpoint: \(error)")
            }
        }
        return doomed
    }

    private func isStale(_ path: String) -> Bool {
        guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        else { return false }
        return modified < runStart
    }
}
