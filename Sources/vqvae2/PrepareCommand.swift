import ArgumentParser
import DataPipeline
import Foundation
import MPI

/// `vqvae2 prepare`: an ILSVRC2012-layout folder (or the built-in demo) to HDF5 shards and a manifest.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Convert an ImageNet-layout folder into HDF5 shards and a manifest.",
        discussion: """
            The source holds train/<wnid>/*.JPEG and val/ (class folders, or flat with \
            LOC_val_solution.csv or ILSVRC2012_validation_ground_truth.txt); LOC_synset_mapping.txt names the \
            classes. Every image is decoded (JPEG in any colour space, or PNG), its shorter side resized to \
            --image-size with anti-aliasing, and the centre cropped. Train images go to --train-shards \
            class-balanced shards, val images to the held-out shards that training never reads. The result is \
            the same for the same seed, whatever the number of ranks.

            Under mpirun the ranks convert different shards:
              launch/mpirun.sh -n 2 .build/release/vqvae2 prepare --source /data/imagenet --output /data/in64
            Without a dataset, --demo writes a small procedurally drawn one first and converts it:
              vqvae2 prepare --demo runs/demo-source --output runs/demo-data

            Files that are not images, cannot be read or fail to decode are skipped and listed in the report and \
            in the manifest, never fatal. A finished output is not converted again unless --force is given; \
            shards finished by an interrupted run are kept.
            """)

    @Option(help: "The ImageNet-layout folder to convert.")
    var source: String?

    @Option(help: "Write the built-in demo image set to this folder, then convert it (instead of --source).")
    var demo: String?

    @Option(help: "Where the shards and manifest.json go.")
    var output: String

    @Option(help: "Side of the square images in the shards (a multiple of 8).")
    var imageSize = 64

    @Option(help: "Number of training shards.")
    var trainShards = 4

    @Option(help: "Number of held-out shards (from val/).")
    var heldoutShards = 1

    @Option(help: "Seed of the shuffle that deals images to shards.")
    var seed: UInt64 = 0

    @Option(help: "Ground-truth file for a flat val/ folder (default: found in the source folder).")
    var valLabels: String?

    @Option(help: "For integer labels in the ground-truth file: the wnids they count from 1, one per line.")
    var valClassOrder: String?

    @Option(help: "Demo classes (1-10).")
    var demoClasses = 10

    @Option(help: "Demo training images per class.")
    var demoTrainPerClass = 200

    @Option(help: "Demo held-out images per class.")
    var demoValPerClass = 20

    @Flag(help: "Convert again even if the output holds a finished conversion.")
    var force = false

    func validate() throws {
        guard (source == nil) != (demo == nil) else { throw ValidationError("give exactly one of --source and --demo") }
    }

    func run() throws {
        let mpi = try MPIRuntime()
        let world = mpi.world
        let sourcePath = demo ?? source!
        let manifestPath = output + "/" + ShardManifest.fileName
        if !force, FileManager.default.fileExists(atPath: manifestPath) {
            if world.isRoot {
                print("prepare: \(manifestPath) already holds a finished conversion; nothing to do (--force converts again)")
            }
            return
        }
        if world.isRoot {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            if let demo {
                let written = try DemoImages.write(
                    to: demo, classes: demoClasses, trainPerClass: demoTrainPerClass,
                    validationPerClass: demoValPerClass, size: imageSize, seed: seed)
                print("prepare: wrote \(written) demo images to \(demo)")
            }
        }
        try world.barrier()

        let job = try PrepareJob(
            options: PrepareOptions(
                source: sourcePath, output: output, imageSize: imageSize, trainShards: trainShards,
                heldoutShards: heldoutShards, seed: seed, validationLabels: valLabels, validationClassOrder: valClassOrder),
            reuseFinishedShards: !force)
        let mine = job.shards(forRank: world.rank, of: world.size)
        let total = job.shards.reduce(0) { $0 + $1.files.count }
        if world.isRoot {
            print("prepare: \(total) images in \(job.classes.count) classes -> \(job.shards.count) shards of \(imageSize)x\(imageSize) on \(world.size) rank(s)")
        }
        let progress = ProgressPrinter(total: mine.reduce(0) { $0 + $1.files.count }, ranks: world.size, enabled: world.isRoot)
        var outcomes: [ShardOutcome] = []
        for shard in mine {
            let before = progress.done
            outcomes.append(try job.convert(shard) { progress.update(before + $0) })
        }
        progress.finish()

        let gathered = try world.allGather(bytes: Array(try JSONEncoder().encode(outcomes)))
        let all = try gathered.flatMap { try JSONDecoder().decode([ShardOutcome].self, from: Data($0)) }
        guard world.isRoot else { return }
        let manifest = job.manifest(outcomes: all)
        try manifest.save(manifestPath)
        printReport(manifest, outcomes: all)
    }

    private func printReport(_ manifest: ShardManifest, outcomes: [ShardOutcome]) {
        for split in PrepareJob.splits {
            let entries = manifest.splits[split]?.shards ?? []
            print("  \(split): \(entries.reduce(0) { $0 + $1.count }) images in \(entries.count) shard(s)")
        }
        let reused = outcomes.filter(\.reused).count
        if reused > 0 { print("  kept \(reused) shard(s) finished by an earlier run") }
        let skipped = manifest.skipped ?? []
        if skipped.isEmpty {
            print("  skipped: none")
        } else {
            print("  skipped: \(skipped.count) file(s)")
            let reasons = Dictionary(grouping: skipped, by: \.reason).sorted { $0.value.count > $1.value.count }
            for (reason, files) in reasons.prefix(8) {
                print("    \(files.count) x \(reason)  (e.g. \(files[0].path))")
            }
        }
        print("  manifest: \(output)/\(ShardManifest.fileName)")
    }
}

/// Images/s and ETA on rank 0, at most every two seconds.
final class ProgressPrinter {
    let total: Int
    let ranks: Int
    let enabled: Bool
    private(set) var done = 0
    private let start = Date()
    private var lastPrint = Date.distantPast

    init(total: Int, ranks: Int, enabled: Bool) {
        self.total = total
        self.ranks = ranks
        self.enabled = enabled
    }

    func update(_ done: Int) {
        self.done = done
        guard enabled, Date().timeIntervalSince(lastPrint) >= 2 else { return }
        lastPrint = Date()
        report()
    }

    func finish() { if enabled { report() } }

    private func report() {
        let elapsed = max(Date().timeIntervalSince(start), 1e-3)
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : 0
        print(String(
            format: "prepare: rank 0 %d/%d images, %.0f images/s (about %.0f over %d ranks), ETA %.0f s",
            done, total, rate, rate * Double(ranks), ranks, eta))
    }
}
