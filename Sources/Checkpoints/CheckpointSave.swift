import Coordination
import Foundation
import Storage

/// The result of a save, for the log and for speed measurements.
package struct SavedCheckpoint: Equatable, Sendable {
    /// The committed directory.
    package let path: String
    package let step: Int
    /// True when a committed checkpoint of this step already existed and was kept instead of written again.
    package let reused: Bool
    /// The bytes this rank wrote (its shard).
    package let bytesWritten: Int
    /// Seconds from the start of the save to the end of the commit, on this rank.
    package let seconds: Double
    /// Directories the rotation removed (old checkpoints and stale temporaries); rank 0 removes them, so only rank 0
    /// lists them.
    package let removed: [String]
}

extension CheckpointWriter {
    /// Saves `tensors` (the whole state, the same list on every rank) and commits it; a collective.
    ///
    /// Each rank writes the tensors the `ShardPlan` gives it into its own shard inside a temporary directory; rank
    /// 0 writes the manifest once every shard is durable, renames the directory to `step-NNNNNNNN`, then rotates.
    /// `check` runs on this rank's share before anything is written, and rank 0 checks that the filesystem has room
    /// for the whole checkpoint (`SpaceCheck`); any rank's failure fails the save on every rank before the commit,
    /// and nothing older is touched. A committed checkpoint of the same step is kept (with
    /// exact resume it holds the same state) rather than replaced, which would leave a moment with neither.
    package func save(
        _ tensors: [StateTensor], metadata: CheckpointMetadata, config: String, modelFingerprint: String,
        coordinator: Coordinator, check: StateCheck = StateChecks.requireFinite
    ) throws -> SavedCheckpoint {
        let start = Date()
        let rank = coordinator.rank, worldSize = coordinator.worldSize, step = metadata.step
        let final = CheckpointLayout.join(root, CheckpointLayout.directoryName(step: step))
        let plan = ShardPlan(tensors, worldSize: worldSize)

        let decision = try coordinator.rootsChoice(rank == 0 ? Self.decide(final) : "")
        let nonce = String(decision.dropFirst())
        let layouts = try agree(coordinator, "check") { () -> UInt32 in
            try StateTensor.validate(tensors)
            try check(plan.tensors(of: rank).map { tensors[$0] })
            // One look suffices: every rank writes into the same (shared) filesystem.
            if rank == 0 && decision.first == "+" {
                let needed = SpaceCheck.bytesNeeded(tensors, worldSize: worldSize, configBytes: config.utf8.count)
                try SpaceCheck.require(needed, root: root, step: step)
            }
            return Self.layoutDigest(tensors)
        }
        let disagreeing = layouts.indices.filter { layouts[$0] != layouts[0] }
        guard disagreeing.isEmpty else { throw CheckpointError.differentStates(ranks: disagreeing) }
        if decision.first == "=" {
            try coordinator.barrier()
            return SavedCheckpoint(path: final, step: step, reused: true, bytesWritten: 0, seconds: 0, removed: [])
        }

        let directory = temporaryDirectory(step: step, nonce: nonce)
        let reports: [ShardReport]
        do {
            reports = try agree(coordinator, "shard write") { () -> ShardReport in
                let report = try writeShard(tensors, plan: plan, rank: rank, worldSize: worldSize, step: step, directory: directory)
                fault.afterShard(rank: rank)
                return report
            }
        } catch {
            if rank == 0 { try? FileManager.default.removeItem(atPath: directory) }
            throw error
        }

        var committed: Result<[String], Error> = .success([])
        if rank == 0 {
            committed = Result {
                let path = try commit(
                    tensors, plan: plan, reports: reports, metadata: metadata, config: config,
                    modelFingerprint: modelFingerprint, directory: directory)
                return try rotate(keeping: path, nonce: nonce)
            }
        }
        // Rank 0's outcome doubles as the closing barrier: no rank runs ahead of the commit.
        let failure: String
        switch committed {
        case .success: failure = ""
        case .failure(let error): failure = "\(error)"
        }
        let outcome = try coordinator.rootsChoice(failure)
        if case .failure(let error) = committed { throw error }
        guard outcome.isEmpty else { throw CheckpointError.ranksFailed(phase: "commit", [0: outcome]) }
        let removed = (try? committed.get()) ?? []
        return SavedCheckpoint(
            path: final, step: step, reused: false, bytesWritten: reports[rank].bytes,
            seconds: Date().timeIntervalSince(start), removed: removed)
    }

    /// `coordinator.agree`, with a failure on other ranks reported as a checkpoint that was not committed.
    private func agree<T: Codable>(_ coordinator: Coordinator, _ phase: String, _ body: () throws -> T) throws -> [T] {
        do {
            return try coordinator.agree(phase, body)
        } catch CoordinationError.ranksFailed(_, let failures) {
            throw CheckpointError.ranksFailed(phase: phase, failures)
        }
    }

    /// Rank 0's decision, broadcast: "=" when `final` is already committed, else "+" and a fresh nonce that names the
    /// temporary directory on every rank.
    private static func decide(_ final: String) -> String {
        if FileManager.default.fileExists(atPath: CheckpointLayout.join(final, CheckpointLayout.manifestName)) { return "=" }
        return "+" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
    }

    /// A checksum of the names and shapes, equal on ranks that pass the same state.
    private static func layoutDigest(_ tensors: [StateTensor]) -> UInt32 {
        var crc = CRC32()
        crc.update(Array(tensors.map { "\($0.name)\($0.shape)" }.joined(separator: ";").utf8))
        return crc.value
    }
}
