import Checkpoints
import Configuration
import Coordination
import DataPipeline
import Foundation

/// A replica restored from a committed checkpoint, for the tools that use a trained model without training it:
/// `evaluate`, `sample` and `extract-codes`.
package struct CheckpointedReplica {
    package let replica: Replica
    package let config: ExperimentConfig
    /// The image manifest the config names (classes and the held-out split).
    package let manifest: ShardManifest
    package let path: String

    /// Loads `checkpoint` (a step directory, or "auto" for the newest committed one in the config's checkpoint
    /// directory). The config is `configPath` if given, else the one saved in the checkpoint; `overrides` apply to
    /// either. Rank 0 resolves "auto" and every rank loads the same checkpoint.
    package static func load(
        checkpoint: String, configPath: String?, overrides: [String], coordinator: Coordinator
    ) throws -> CheckpointedReplica {
        var path = checkpoint
        if checkpoint == "auto" {
            guard let configPath else {
                throw TrainingSetupError("--checkpoint auto needs --config (its checkpoints.directory says where to look)")
            }
            let root = try ExperimentConfig.load(path: configPath, overrides: overrides).checkpoints.directory
            guard let newest = try CheckpointCatalog.latestCommitted(in: root, coordinator: coordinator) else {
                throw TrainingSetupError("\(root): no committed checkpoint to load")
            }
            path = newest
        }
        let stored = try Checkpoint(path: path)
        let config: ExperimentConfig
        if let configPath {
            config = try ExperimentConfig.load(path: configPath, overrides: overrides)
        } else {
            var document = try ConfigDocument(text: stored.manifest.config, path: path + "/manifest.json (config)")
            let saved = stored.manifest.config.split(separator: "\n").compactMap { line -> String? in
                line.hasPrefix("# --set ") ? String(line.dropFirst("# --set ".count)) : nil
            }
            for o in saved + overrides { try document.override(o) }
            config = try ExperimentConfig.parse(document)
        }
        try RankThreads.apply(config.distributed.threadsPerRank, source: configPath ?? path + "/manifest.json (config)")
        let (manifest, _) = try ShardSet.open(manifest: config.data.manifest, split: config.data.heldoutSplit)
        let replica = try Replica(config: config, classes: manifest.classes.count)
        let metadata = try stored.load(
            into: replica.checkpointTensors, modelFingerprint: replica.fingerprint(classes: manifest.classes.count))
        _ = replica.restore(metadata)
        if let codes = replica.priorCodesFingerprint, codes != replica.vqvaeFingerprint {
            throw TrainingSetupError(
                "\(path): its priors were trained on the codes of another VQ-VAE (\(codes)) than the one it holds (\(replica.vqvaeFingerprint)); they cannot be sampled or evaluated with it")
        }
        return CheckpointedReplica(replica: replica, config: config, manifest: manifest, path: path)
    }
}
