import Foundation

/// Faults that tests inject into a save or an export through the environment (the launcher forwards `VQVAE2_*`
/// variables to every rank), so that a real mpirun job can die exactly between a rank's shard and the commit, or
/// meet a full disk where it writes:
///
/// - `VQVAE2_CHECKPOINT_FAULT=die-after-shard:R`: rank R exits with status 9, without cleaning up, right after
///   its shard is durable.
/// - `enospc-shard:R`: rank R's shard file meets a full disk: the kernel fails its writes with ENOSPC.
/// - `enospc-manifest`: the same for the manifest rank 0 writes.
/// - `enospc-export`: the same for the file `vqvae2 checkpoint export` writes.
///
/// A full disk is made by pointing the file's descriptor at /dev/full, so the error comes back through HDF5's
/// error stack or the failed write(2), the way a real one does.
package struct FaultInjection: Sendable {
    let dieAfterShardOnRank: Int?
    let noSpaceInShardOfRank: Int?
    let noSpaceInManifest: Bool
    /// Whether the weight export's writes fail with ENOSPC.
    package let noSpaceInExport: Bool

    static let variable = "VQVAE2_CHECKPOINT_FAULT"

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let value = environment[Self.variable] ?? ""
        func rank(after prefix: String) -> Int? { value.hasPrefix(prefix) ? Int(value.dropFirst(prefix.count)) : nil }
        dieAfterShardOnRank = rank(after: "die-after-shard:")
        noSpaceInShardOfRank = rank(after: "enospc-shard:")
        noSpaceInManifest = value == "enospc-manifest"
        noSpaceInExport = value == "enospc-export"
    }

    func afterShard(rank: Int) {
        if rank == dieAfterShardOnRank {
            FileHandle.standardError.write(Data("rank \(rank): dying after writing its shard (\(Self.variable))\n".utf8))
            _exit(9)
        }
    }
}
