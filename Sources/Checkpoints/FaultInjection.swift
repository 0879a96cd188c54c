import Foundation

/// Faults that tests inject into a save through the environment (the launcher forwards `VQVAE2_*` variables to
/// every rank), so that a real mpirun job can die exactly between a rank's shard and the commit.
///
/// `VQVAE2_CHECKPOINT_FAULT=die-after-shard:R` makes rank R exit with status 9, without cleaning up, right after its
/// shard is durable.
struct FaultInjection {
    let dieAfterShardOnRank: Int?

    static let variable = "VQVAE2_CHECKPOINT_FAULT"

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let value = environment[Self.variable] ?? ""
        dieAfterShardOnRank = value.hasPrefix("die-after-shard:") ? Int(value.dropFirst("die-after-shard:".count)) : nil
    }

    func afterShard(rank: Int) {
        if rank == dieAfterShardOnRank {
            FileHandle.standardError.write(Data("rank \(rank): dying after writing its shard (\(Self.variable))\n".utf8))
            _exit(9)
        }
    }
}
