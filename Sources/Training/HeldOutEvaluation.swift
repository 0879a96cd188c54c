import Coordination
import DataPipeline
import Evaluation
import Foundation
import Numerics

/// Evaluation of a replica on the held-out split, over all ranks: each rank evaluates its batches, the sums are
/// added over ranks, and every rank gets the same report (every image counted exactly once).
package final class HeldOutEvaluation {
    package let manifest: ShardManifest
    package let shards: ShardSet
    package let batch: Int

    package init(manifestPath: String, split: String, batch: Int) throws {
        (manifest, shards) = try ShardSet.open(manifest: manifestPath, split: split)
        self.batch = batch
    }

    /// Evaluation on image shard files given directly (for example a held-out shard written by another tool),
    /// with the classes of `manifest`.
    package init(shardPaths: [String], manifest: ShardManifest, batch: Int) throws {
        self.manifest = manifest
        shards = try ShardSet.images(
            paths: shardPaths, names: manifest.datasetNames, imageSize: manifest.imageSize, classCount: manifest.classes.count)
        self.batch = batch
    }

    /// Evaluates `replica` (dropout off; no state moves) and returns the report for `step`. The ranks agree after
    /// every batch whether `stop` asked any of them to stop, and then throw `PhaseStopped` together.
    package func run(
        _ replica: Replica, coordinator: Coordinator, step: Int?, stop: StopRequest = .never
    ) throws -> EvaluationReport {
        let evaluator = Evaluator(
            vqvae: replica.vqvae, topPrior: replica.topPrior, bottomPrior: replica.bottomPrior,
            classes: manifest.classes.count)
        func partition(_ rank: Int) -> EvaluationPartition {
            EvaluationPartition(count: shards.count, rank: rank, worldSize: coordinator.worldSize, batch: batch)
        }
        let loader = BatchLoader(shards: shards, schedule: .evaluation(partition(coordinator.rank)))
        defer { loader.stop() }
        // Rank 0 takes the first batch of every round, so it has the most.
        let phase = StoppablePhase(
            "evaluation", coordinator: coordinator, units: partition(0).batches.count, stop: stop,
            left: "no report was written")
        _ = try phase.run { () -> Bool in
            while let next = try loader.next() {
                evaluator.accumulate(images: next.images, labels: next.labels)
                try phase.unitDone()
            }
            return true
        }
        let sums = try coordinator.sum(evaluator.sums)
        return EvaluationReport(sums: sums, layout: evaluator.layout, classNames: manifest.classes.map(\.name), step: step)
    }

    /// The first `count` held-out images (the same ones every time, so grids of successive steps compare).
    package func firstImages(_ count: Int) throws -> Tensor {
        let loader = BatchLoader(
            shards: shards, schedule: .evaluation(EvaluationPartition(count: shards.count, rank: 0, worldSize: 1, batch: min(count, shards.count))))
        defer { loader.stop() }
        let images = Tensor(shape: [0])
        if let first = try loader.next() { images.copy(from: first.images) }
        return images
    }
}

/// The pictures a run leaves in `<run.directory>/pictures`: reconstructions of held-out images, samples per class,
/// and the training curves.
package struct RunPictures {
    package let directory: String

    package init(runDirectory: String) { directory = runDirectory + "/pictures" }

    /// Writes `reconstructions-<step>.png` and `reconstructions.png` (the latest); returns the latter's path.
    @discardableResult
    package func reconstructions(of images: Tensor, replica: Replica, step: Int) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let scale = max(1, 128 / replica.config.model.imageSize)
        let stepped = directory + String(format: "/reconstructions-%08d.png", step)
        try ImageGrid.writeReconstructions(of: images, vqvae: replica.vqvae, pairsPerRow: 4, scale: scale, to: stepped)
        let latest = directory + "/reconstructions.png"
        try? FileManager.default.removeItem(atPath: latest)
        try FileManager.default.copyItem(atPath: stepped, toPath: latest)
        return latest
    }

    /// Writes `curves.png` from the run's metrics log.
    @discardableResult
    package func curves(metrics: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/curves.png"
        try CurvePlot().write(metrics: metrics, to: path)
        return path
    }

    /// Draws `grid` with every rank (`sampling`, whose collectives every rank must enter) and writes it on rank
    /// 0 to `path` (default `samples.png` here); returns the path on rank 0, nil on the others. A stopped
    /// sampling (`SamplingStopped`) writes nothing.
    @discardableResult
    package func samples(
        replica: Replica, grid: SampleGrid, sampling: GridSampling, classNames: [String], to explicitPath: String? = nil
    ) throws -> String? {
        guard let samples = try sampling.draw(
            grid, vqvae: replica.vqvae, top: replica.topPrior, bottom: replica.bottomPrior) else { return nil }
        let path = explicitPath ?? directory + "/samples.png"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try grid.write(samples, classNames: classNames, scale: max(1, 128 / replica.config.model.imageSize), to: path)
        return path
    }
}
