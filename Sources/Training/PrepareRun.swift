import Coordination
import DataPipeline
import Foundation

/// `vqvae2 prepare` on every rank of the job: an ImageNet-layout folder (or the built-in demo image set) to HDF5
/// shards and a manifest. Ranks convert different shards (`PrepareJob.shards(forRank:of:)`); rank 0 writes the
/// manifest once every rank's shards are finished, and a failure on any rank fails every rank before that.
package struct PrepareRun {
    /// What the demo image set holds, when one is drawn first.
    package struct Demo: Sendable {
        package var directory: String
        package var classes: Int
        package var trainPerClass: Int
        package var validationPerClass: Int

        package init(directory: String, classes: Int, trainPerClass: Int, validationPerClass: Int) {
            self.directory = directory
            self.classes = classes
            self.trainPerClass = trainPerClass
            self.validationPerClass = validationPerClass
        }
    }

    package let options: PrepareOptions
    package let demo: Demo?
    /// Convert again even if the output holds a finished conversion (and do not keep finished shards).
    package let force: Bool

    package init(options: PrepareOptions, demo: Demo?, force: Bool) {
        self.options = options
        self.demo = demo
        self.force = force
    }

    /// Converts; rank 0 prints progress and the report through `out`. Returns the manifest on rank 0 (nil on the
    /// others, and when there was nothing to do). The ranks agree every `agreementInterval` images whether `stop`
    /// asked any of them to stop; a stop ends every rank with `PhaseStopped`, the shards in progress removed, the
    /// finished ones kept (a re-run continues from them) and no manifest written.
    @discardableResult
    package func run(
        coordinator: Coordinator, stop: StopRequest = .never, out: @escaping (String) -> Void
    ) throws -> ShardManifest? {
        let manifestPath = options.output + "/" + ShardManifest.fileName
        if !force, FileManager.default.fileExists(atPath: manifestPath) {
            if coordinator.isRoot {
                out("prepare: \(manifestPath) already holds a finished conversion; nothing to do (--force converts again)")
            }
            return nil
        }
        let kept = "finished shards are kept: run it again to continue"
        let demoImages = demo.map { $0.classes * ($0.trainPerClass + $0.validationPerClass) } ?? 0
        let setUp = StoppablePhase(
            "prepare: set-up", coordinator: coordinator, units: demoImages, interval: Self.agreementInterval,
            stop: stop, left: "the demo images are incomplete, and no shard was written")
        _ = try setUp.run { () -> Bool in
            guard coordinator.isRoot else { return true }
            try FileManager.default.createDirectory(atPath: options.output, withIntermediateDirectories: true)
            if let demo {
                let written = try DemoImages.write(
                    to: demo.directory, classes: demo.classes, trainPerClass: demo.trainPerClass,
                    validationPerClass: demo.validationPerClass, size: options.imageSize, seed: options.seed,
                    afterEach: setUp.unitDone)
                out("prepare: wrote \(written) demo images to \(demo.directory)")
            }
            return true
        }

        let job = try PrepareJob(options: options, reuseFinishedShards: !force)
        let ranks = coordinator.worldSize
        let mine = job.shards(forRank: coordinator.rank, of: ranks)
        let total = job.shards.reduce(0) { $0 + $1.images.count }
        if coordinator.isRoot {
            out("prepare: \(total) images in \(job.classes.count) classes -> \(job.shards.count) shards of "
                + "\(options.imageSize)x\(options.imageSize) on \(ranks) rank(s)")
        }
        let busiest = (0..<ranks).map { job.shards(forRank: $0, of: ranks).reduce(0) { $0 + $1.images.count } }.max() ?? 0
        let conversion = StoppablePhase(
            "prepare", coordinator: coordinator, units: busiest, interval: Self.agreementInterval, stop: stop,
            left: "no partial shard and no manifest were written (\(kept))")
        let outcomes = try conversion.run { () -> [ShardOutcome] in
            let progress = PrepareProgress(
                total: mine.reduce(0) { $0 + $1.images.count }, ranks: ranks, out: coordinator.isRoot ? out : nil)
            var outcomes: [ShardOutcome] = []
            for shard in mine {
                let before = progress.done
                var agreed = 0
                outcomes.append(try job.convert(shard) { handled in
                    for _ in agreed..<handled { try conversion.unitDone() }
                    agreed = handled
                    progress.update(before + handled)
                })
            }
            progress.finish()
            return outcomes
        }
        guard coordinator.isRoot else { return nil }
        let all = outcomes.flatMap { $0 }
        let manifest = job.manifest(outcomes: all)
        try manifest.save(manifestPath)
        report(manifest, outcomes: all, out: out)
        return manifest
    }

    /// Images between stop agreements: a few dozen milliseconds of decoding, so that the ranks, whose images take
    /// unequal times, are not held in lockstep image by image.
    static let agreementInterval = 32

    private func report(_ manifest: ShardManifest, outcomes: [ShardOutcome], out: (String) -> Void) {
        for split in PrepareJob.splits {
            let entries = manifest.splits[split]?.shards ?? []
            out("  \(split): \(entries.reduce(0) { $0 + $1.count }) images in \(entries.count) shard(s)")
        }
        let reused = outcomes.filter(\.reused).count
        if reused > 0 { out("  kept \(reused) shard(s) finished by an earlier run") }
        let skipped = manifest.skipped ?? []
        if skipped.isEmpty {
            out("  skipped: none")
        } else {
            out("  skipped: \(skipped.count) file(s)")
            let reasons = Dictionary(grouping: skipped, by: \.reason).sorted { $0.value.count > $1.value.count }
            for (reason, files) in reasons.prefix(8) {
                out("    \(files.count) x \(reason)  (e.g. \(files[0].path))")
            }
        }
        out("  manifest: \(options.output)/\(ShardManifest.fileName)")
    }
}

/// Images/s and ETA of rank 0's conversion, at most every two seconds.
final class PrepareProgress {
    let total: Int
    let ranks: Int
    private let out: ((String) -> Void)?
    private(set) var done = 0
    private let start = Date()
    private var lastPrint = Date.distantPast

    init(total: Int, ranks: Int, out: ((String) -> Void)?) {
        self.total = total
        self.ranks = ranks
        self.out = out
    }

    func update(_ done: Int) {
        self.done = done
        guard out != nil, Date().timeIntervalSince(lastPrint) >= 2 else { return }
        lastPrint = Date()
        report()
    }

    func finish() { if out != nil { report() } }

    private func report() {
        let elapsed = max(Date().timeIntervalSince(start), 1e-3)
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : 0
        out?(String(
            format: "prepare: rank 0 %d/%d images, %.0f images/s (about %.0f over %d ranks), ETA %.0f s",
            done, total, rate, rate * Double(ranks), ranks, eta))
    }
}
