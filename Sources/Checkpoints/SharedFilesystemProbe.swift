import Coordination
import Foundation

/// The start-up check that the checkpoint root is one filesystem seen by every rank: a save on node-local disks
/// would commit a manifest whose shards lie on other machines.
package enum SharedFilesystemProbe {
    /// Every rank writes a probe file into `root`; rank 0 then looks for all of them, removes them, and every rank
    /// throws `CheckpointError.notShared` naming the ranks whose files rank 0 cannot see. A collective.
    package static func run(root: String, coordinator: Coordinator) throws {
        let rank = coordinator.rank
        let nonce = try coordinator.rootsChoice(rank == 0 ? String(UUID().uuidString.prefix(8).lowercased()) : "")
        func probe(_ rank: Int) -> String { CheckpointLayout.join(root, ".probe-\(nonce)-rank-\(rank)") }
        // Agreeing on the writes also makes them all happen before rank 0 looks.
        _ = try coordinator.agree("filesystem probe") { () -> Bool in
            do { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) } catch {
                throw CheckpointError.io(path: root, "cannot create the checkpoint directory: \(error)")
            }
            guard FileManager.default.createFile(atPath: probe(rank), contents: Data("rank \(rank)\n".utf8)) else {
                throw CheckpointError.io(path: probe(rank), "cannot write in the checkpoint directory")
            }
            return true
        }
        var missing: [Int] = []
        if rank == 0 {
            missing = (0..<coordinator.worldSize).filter { !FileManager.default.fileExists(atPath: probe($0)) }
            for other in 0..<coordinator.worldSize { try? FileManager.default.removeItem(atPath: probe(other)) }
        }
        let verdict = try coordinator.rootsChoice(missing.map(String.init).joined(separator: ","))
        // Ranks whose probe rank 0 could not see remove their own (rank 0 could not).
        try? FileManager.default.removeItem(atPath: probe(rank))
        guard verdict.isEmpty else {
            let ranks = verdict.split(separator: ",").compactMap { Int($0) }
            throw CheckpointError.notShared(root: root, ranks: ranks)
        }
    }
}
