import Coordination
import Evaluation
import Foundation
import Storage

/// `vqvae2 evaluate` on every rank of the job: loads a checkpoint, evaluates it on held-out data (each rank its own
/// batches, sums added over ranks, so any number of ranks gives the same numbers), and on rank 0 writes the JSON
/// report and prints the table.
package struct EvaluationRun {
    package let checkpoint: String
    package let configPath: String?
    package let overrides: [String]
    /// The held-out data: a shard manifest (its held-out split), or one .h5 shard; nil: the config's data.manifest.
    package let data: String?
    package let batch: Int
    /// Where the JSON report goes; nil: <run.directory>/evaluation.json.
    package let output: String?

    package init(checkpoint: String, configPath: String?, overrides: [String], data: String?, batch: Int, output: String?) {
        self.checkpoint = checkpoint
        self.configPath = configPath
        self.overrides = overrides
        self.data = data
        self.batch = batch
        self.output = output
    }

    /// Evaluates; returns the report (the same on every rank). A stop request (`stop`, on any rank) ends it on
    /// every rank with `PhaseStopped`, and no report is written.
    @discardableResult
    package func run(coordinator: Coordinator, stop: StopRequest = .never, out: (String) -> Void) throws -> EvaluationReport {
        let shard = data.map { $0.hasSuffix(".h5") } ?? false
        let manifestOverride = shard ? [] : data.map { ["data.manifest=\($0)"] } ?? []
        let loaded = try CheckpointedReplica.load(
            checkpoint: checkpoint, configPath: configPath, overrides: overrides + manifestOverride,
            coordinator: coordinator)
        let evaluation = shard
            ? try HeldOutEvaluation(shardPaths: [data!], manifest: loaded.manifest, batch: batch)
            : try HeldOutEvaluation(
                manifestPath: loaded.config.data.manifest, split: loaded.config.data.heldoutSplit, batch: batch)
        let source = shard ? data! : "\(loaded.config.data.manifest) (\(loaded.config.data.heldoutSplit))"
        if coordinator.isRoot {
            out("evaluate: \(loaded.path) on \(source), \(evaluation.shards.count) images, \(coordinator.worldSize) rank(s)")
        }
        let report = try evaluation.run(loaded.replica, coordinator: coordinator, step: loaded.replica.step, stop: stop)
        guard coordinator.isRoot else { return report }
        let path = output ?? loaded.config.runDirectory + "/evaluation.json"
        try report.save(to: path)
        out(report.table)
        out("evaluate: wrote \(path)")
        return report
    }
}

extension EvaluationReport {
    /// Writes the report's JSON to `path` atomically, making its folder: what `evaluate` and the end of `train`
    /// leave as evaluation.json.
    func save(to path: String) throws {
        try Durability.makeDirectories((path as NSString).deletingLastPathComponent)
        try Durability.writeAtomically(Data(json().utf8), to: path)
    }
}
