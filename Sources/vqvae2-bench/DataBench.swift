import ArgumentParser
import DataPipeline
import Foundation

/// `vqvae2-bench data`: how fast `prepare` converts and how fast the loader delivers batches.
struct DataBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "prepare's images/s per rank on the demo source, and the loader's images/s at 64 and 256 pixels.",
        discussion: """
            Writes a demo source (procedurally drawn JPEGs) under --work, converts it with one process (the rate of \
            one rank; ranks convert different shards, so N ranks scale it up to N), then reads batches of --batch \
            with the prefetching loader (random order, flips on) and reports images/s with the page cache warm. \
            Compare with what a training step consumes: --step-rate images/s per rank.
            """)

    @Option(help: "Scratch folder (created; deleted afterwards).")
    var work = "/tmp/vqvae2-bench-data"

    @Option(help: "Images per batch.")
    var batch = 32

    @Option(help: "Demo images per class (10 classes) for each size.")
    var perClass = 60

    @Option(help: "Images/s one rank's training step consumes, for the headroom ratio.")
    var stepRate = 64.0

    func run() throws {
        try? FileManager.default.removeItem(atPath: work)
        defer { try? FileManager.default.removeItem(atPath: work) }
        print("size | source JPEG | prepare images/s (1 rank) | loader images/s (batch \(batch)) | loader / step rate")
        print("---|---|---|---|---")
        for (size, drawn) in [(64, 64), (256, 400)] {
            let source = "\(work)/src\(size)", output = "\(work)/out\(size)"
            try DemoImages.write(to: source, classes: 10, trainPerClass: perClass, validationPerClass: 2, size: drawn, seed: 1)
            let job = try PrepareJob(options: PrepareOptions(source: source, output: output, imageSize: size, trainShards: 2))
            let start = Date()
            let outcomes = try job.shards.map { try job.convert($0) }
            let prepareRate = Double(outcomes.reduce(0) { $0 + $1.shard.count }) / Date().timeIntervalSince(start)
            try job.manifest(outcomes: outcomes).save(output + "/manifest.json")

            let (_, set) = try ShardSet.open(manifest: output + "/manifest.json", split: "train")
            let sampler = try DistributedSampler(count: set.count, globalBatch: batch, rank: 0, worldSize: 1, seed: 0)
            let loader = BatchLoader(shards: set, schedule: .training(sampler, start: DataPosition(), flip: true))
            _ = try loader.next()
            let batches = max(20, 4000 / batch * 64 * 64 / (size * size))
            let begin = Date()
            for _ in 0..<batches { _ = try loader.next() }
            let loaderRate = Double(batches * batch) / Date().timeIntervalSince(begin)
            print(String(format: "%dx%d | %dx%d | %.0f | %.0f | %.0fx", size, size, drawn, drawn, prepareRate, loaderRate, loaderRate / stepRate))
        }
    }
}
