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
    /// in the shards' attributes.
    package func run(replica: Replica, coordinator: Coordinator, source: String) throws -> ShardManifest? {
        let vqvae = replica.vqvae
        let fingerprint = replica.vqvaeFingerprint
        let imageManifest = try ShardManifest.load(imageManifestPath)
        guard imageManifest.imageSize == vqvae.config.imageSize else {
            throw TrainingSetupError(
                "\(imageManifestPath): images are \(imageManifest.imageSize) pixels, the VQ-VAE takes \(vqvae.config.imageSize)")
        }
        let directory = (imageManifestPath as NSString).deletingLastPathComponent
        let topSize = vqvae.config.imageSize / 8
        var jobs: [(split: String, index: Int, file: String)] = []
        for split in imageManifest.splits.keys.sorted() {
            for (index, shard) in imageManifest.splits[split]!.shards.enumerated() { jobs.append((split, index, shard.file)) }
        }
        let everyone = try coordinator.agree("extract-codes") { () -> [ShardOutcome] in
            var mine: [ShardOutcome] = []
            for (number, job) in jobs.enumerated() where number % coordinator.worldSize == coordinator.rank {
                let set = try ShardSet.images(
                    paths: [(directory.isEmpty ? "." : directory) + "/" + job.file], names: imageManifest.datasetNames,
                    imageSize: imageManifest.imageSize)
                let writer = try CodeShardWriter(
                    path: output + "/" + job.file, topSize: topSize, classes: imageManifest.classes,
                    attributes: [
                        "split": job.split, "source_images": job.file, "vqvae_checkpoint": source, "vqvae_fingerprint": fingerprint,
                    ])
                let loader = BatchLoader(
                    shards: set, schedule: .evaluation(EvaluationPartition(count: set.count, rank: 0, worldSize: 1, batch: batch)))
                while let images = try loader.next() {
                    let codes = vqvae.encode(images.images)
                    try writer.append(top: codes.top, bottom: codes.bottom, labels: images.labels)
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
        try manifest.save(output + "/" + ShardManifest.fileName)
        return manifest
    }
}
