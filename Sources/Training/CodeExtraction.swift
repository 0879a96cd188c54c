import Coordination
import DataPipeline
import Foundation
import Model
import Numerics

/// The staged schedule's middle part: the trained VQ-VAE's top and bottom codes for every image of the training
/// and held-out splits, written as code shards (one per image shard, same order and labels) with a manifest of
/// kind "codes" that the `priors` schedule and evaluation read.
///
/// Ranks split the shards (shard i on rank i mod world size); rank 0 writes the manifest after every rank is done,
/// and a failure on any rank fails every rank before that.
package struct CodeExtraction {
    package let imageManifestPath: String
    package let output: String
    package let batch: Int

    package init(imageManifestPath: String, output: String, batch: Int = 32) {
        self.imageManifestPath = imageManifestPath
        self.output = output
        self.batch = batch
    }

    /// Extracts with `vqvae` (codebooks initialised, e.g. loaded from a checkpoint); `source` names the checkpoint
    /// in the shards' attributes. The ranks agree after every batch whether `stop` asked any of them to stop; a
    /// stop ends every rank with `PhaseStopped`, its shard in progress removed and no manifest written (finished
    /// shards stay). An earlier manifest in `output` is removed first: the shards this run replaces would no longer
    /// match it.
    package func run(
        replica: Replica, coordinator: Coordinator, source: String, stop: StopRequest = .never
    ) throws -> ShardManifest? {
        let vqvae = replica.vqvae
        let fingerprint = replica.vqvaeFingerprint
        let imageManifest = try ShardManifest.load(imageManifestPath)
        guard imageManifest.imageSize == vqvae.config.imageSize else {
            throw TrainingSetupError(
                "\(imageManifestPath): images are \(imageManifest.imageSize) pixels, the VQ-VAE takes \(vqvae.config.imageSize)")
        }
        let directory = (imageManifestPath as NSString).deletingLastPathComponent
        let topSize = vqvae.config.imageSize / 8
        var jobs: [(split: String, index: Int, file: String, images: Int, batches: Int)] = []
        for split in imageManifest.splits.keys.sorted() {
            for (index, shard) in imageManifest.splits[split]!.shards.enumerated() {
                jobs.append((split, index, shard.file, shard.count, (shard.count + batch - 1) / batch))
            }
        }
        let ranks = coordinator.worldSize, rank = coordinator.rank
        let manifestPath = output + "/" + ShardManifest.fileName
        _ = try coordinator.agree("extract-codes: set-up") { () -> Bool in
            if coordinator.isRoot && FileManager.default.fileExists(atPath: manifestPath) {
                try FileManager.default.removeItem(atPath: manifestPath)
            }
            return true
        }
        let batchesPerRank = (0..<ranks).map { r in
            jobs.indices.filter { $0 % ranks == r }.reduce(0) { $0 + jobs[$1].batches }
        }
        let phase = StoppablePhase(
            "code extraction", coordinator: coordinator, units: batchesPerRank.max() ?? 0, stop: stop,
            left: "no manifest and no partial code shard were written (finished code shards stay in \(output))")
        let everyone = try phase.run { () -> [ShardOutcome] in
            var mine: [ShardOutcome] = []
            for (number, job) in jobs.enumerated() where number % ranks == rank {
                let set = try ShardSet.images(
                    paths: [(directory.isEmpty ? "." : directory) + "/" + job.file], names: imageManifest.datasetNames,
                    imageSize: imageManifest.imageSize)
                // The ranks planned their agreements from the manifest's counts.
                guard set.count == job.images else {
                    throw TrainingSetupError("\(set.paths[0]): holds \(set.count) images, \(imageManifestPath) says \(job.images)")
                }
                let writer = try CodeShardWriter(
                    path: output + "/" + job.file, topSize: topSize, classes: imageManifest.classes,
                    attributes: [
                        "split": job.split, "source_images": job.file, "vqvae_checkpoint": source, "vqvae_fingerprint": fingerprint,
                    ])
                let loader = BatchLoader(
                    shards: set, schedule: .evaluation(EvaluationPartition(count: set.count, rank: 0, worldSize: 1, batch: batch)))
                defer { loader.stop() }
                while let images = try loader.next() {
                    let codes = vqvae.encode(images.images)
                    try writer.append(top: codes.top, bottom: codes.bottom, labels: images.labels)
                    try phase.unitDone()
                }
                mine.append(ShardOutcome(split: job.split, index: job.index, shard: try writer.finish(), skipped: [], reused: false))
            }
            return mine
        }
        guard coordinator.isRoot else { return nil }
        let all = everyone.flatMap { $0 }
        var splits: [String: ShardManifest.Split] = [:]
        for split in imageManifest.splits.keys {
            splits[split] = ShardManifest.Split(shards: all.filter { $0.split == split }.sorted { $0.index < $1.index }.map(\.shard))
        }
        var manifest = ShardManifest(
            kind: .codes, imageSize: imageManifest.imageSize, classes: imageManifest.classes, splits: splits,
            source: source, seed: imageManifest.seed)
        manifest.producer = fingerprint
        try manifest.save(manifestPath)
        return manifest
    }
}
