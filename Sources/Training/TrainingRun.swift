import Checkpoints
import Coordination
import DataPipeline
import Evaluation
import Foundation
import Model
import Numerics
import Storage

/// `vqvae2 train`: the whole run on one rank of the job — data, replica, steps, logging, identity checks.
///
/// Every rank runs this with the same config; rank 0 prints and writes the metrics log and the TensorBoard event
/// file (`RunEvents`), the others stay quiet unless something goes wrong. Collectives happen in the same order on
/// every rank: all decisions (stop, NaN, divergence) are taken together.
package final class TrainingRun {
    package let config: ExperimentConfig
    package let coordinator: Coordinator
    package let reducer: GradientReducer
    package let replica: Replica
    package let manifest: ShardManifest
    package let shards: ShardSet
    package private(set) var position = DataPosition()
    package let checkpoints: CheckpointWriter
    /// This job's claim on the checkpoint directory; its generation goes into every manifest.
    package let lease: CheckpointLease
    /// The config file's text and the overrides, saved in every checkpoint.
    package let configText: String
    package let fingerprint: String
    /// Set by SIGTERM, SIGINT, SIGUSR1 or SIGUSR2 on any rank; checked at every step boundary.
    package let signals: StopSignals?
    /// The held-out images (nil in the priors schedule when the image manifest is not there: codes alone cannot
    /// be decoded into reconstructions).
    package let heldOut: HeldOutEvaluation?
    package let pictures: RunPictures
    /// The checkpoint written because a stop signal arrived, once `run` returned for that reason (nil when the run
    /// finished its steps): what `vqvae2 train` reports to the launcher.
    package private(set) var stoppedOnRequest: SavedCheckpoint?
    /// The step a resume started from (0 when `--resume auto` found nothing), nil without a resume: the metrics
    /// log drops its records after it.
    package private(set) var resumedStep: Int?
    /// The vector variant every rank runs: the lowest any rank supports (`Coordinator.vectorVariants`).
    package let vectorVariant: VectorVariant
    private let out: (String) -> Void
    private let fault = TrainingFault.fromEnvironment()

    package init(
        config: ExperimentConfig, coordinator: Coordinator, configText: String, signals: StopSignals?,
        output: @escaping (String) -> Void = { print($0) }
    ) throws {
        try config.validate(worldSize: coordinator.worldSize)
        self.config = config
        self.coordinator = coordinator
        self.configText = configText
        self.signals = signals
        out = output
        let variants = try coordinator.vectorVariants(), variant = variants.min() ?? .baseline
        vectorVariant = variant
        VectorVariant.select(variant)
        // The paper-scale memory measures: recomputation's released and retaken buffers must not fragment the heap.
        Tensor.mapLargeBuffers(config.train.recomputeGatedLayers)
        if coordinator.isRoot && Set(variants).count > 1 {
            let ranks = variants.indices.filter { variants[$0] == variant }.map(String.init).joined(separator: ", ")
            output("train: vector variant \(variant) on every rank, the lowest the ranks support (rank(s) \(ranks))")
        }
        let manifestPath = config.train.schedule == .priors ? config.data.codesManifest : config.data.manifest
        let split = config.data.trainSplit
        (manifest, shards) = try ShardSet.open(manifest: manifestPath, split: split, verify: config.data.verifyChecksums)
        if config.train.schedule != .priors && manifest.imageSize != config.model.imageSize {
            throw TrainingSetupError(
                "\(manifestPath): images are \(manifest.imageSize) pixels, model.image_size is \(config.model.imageSize)")
        }
        replica = try Replica(config: config, classes: manifest.classes.count)
        reducer = GradientReducer(
            collective: coordinator.collective, stores: replica.stores.all,
            bucketBytes: Int(config.distributed.bucketMegabytes * 1_048_576), overlap: config.distributed.overlap)
        try coordinator.broadcastFromRoot(replica.initialParameters)
        fingerprint = replica.fingerprint(classes: manifest.classes.count)
        let imageManifest = config.data.manifest
        heldOut = config.train.schedule == .priors && !FileManager.default.fileExists(atPath: imageManifest)
            ? nil : try HeldOutEvaluation(manifestPath: imageManifest, split: config.data.heldoutSplit, batch: 16)
        pictures = RunPictures(runDirectory: config.runDirectory)
        checkpoints = CheckpointWriter(root: config.checkpoints.directory, keep: config.checkpoints.keep)
        try SharedFilesystemProbe.run(root: config.checkpoints.directory, coordinator: coordinator)
        lease = try CheckpointLease.take(root: config.checkpoints.directory, coordinator: coordinator, output: output)
    }

    /// Loads a committed checkpoint into the replica: parameters, Adam, codebooks and EMA state, step and data
    /// position. `request` is a checkpoint directory, or "auto" for the newest committed one (none: a fresh start).
    /// Returns the loaded path.
    @discardableResult
    package func resume(_ request: String) throws -> String? {
        guard request == "auto" else {
            try restore(try read(request), from: request)
            resumedStep = replica.step
            return request
        }
        resumedStep = 0
        let root = config.checkpoints.directory
        let (candidates, warnings) = try CheckpointCatalog.resumeCandidates(in: root, coordinator: coordinator)
        if coordinator.isRoot { for warning in warnings { out("train: warning: \(warning)") } }
        guard !candidates.isEmpty else {
            if coordinator.isRoot { out("train: no committed checkpoint in \(root); starting fresh") }
            return nil
        }
        var damaged: [String] = []
        for path in candidates {
            // Every rank reads the same files, but a read error may strike one rank only: agree on the outcome.
            var metadata: CheckpointMetadata?
            let outcomes = try coordinator.agree("loading checkpoint \(path)") { () -> String in
                do {
                    metadata = try read(path)
                    return ""
                } catch let error as CheckpointError where error.isDamage {
                    return "\(error)"
                }
            }
            guard let damage = outcomes.first(where: { !$0.isEmpty }) else {
                try restore(metadata!, from: path)
                resumedStep = replica.step
                return path
            }
            if coordinator.isRoot { out("train: warning: skipping checkpoint \(path): \(damage)") }
            damaged.append("\(path): \(damage)")
        }
        throw CheckpointError.io(
            path: root,
            "no committed checkpoint loads; each is damaged (left in place, nothing was overwritten):\n  "
                + damaged.joined(separator: "\n  "))
    }

    /// Reads the committed checkpoint at `path` into the replica's tensors, on this rank alone.
    private func read(_ path: String) throws -> CheckpointMetadata {
        try Checkpoint(path: path).load(into: replica.checkpointTensors, modelFingerprint: fingerprint)
    }

    /// Takes the step, counters and data position from `metadata` once every rank has read `path`, and checks that
    /// the replicas agree (a collective).
    private func restore(_ metadata: CheckpointMetadata, from path: String) throws {
        position = replica.restore(metadata)
        if coordinator.isRoot, let saved = metadata.vectorVariant, saved != vectorVariant.rawValue {
            out("train: warning: \(path) was written under vector variant \(saved), this run uses \(vectorVariant)")
        }
        try checkReplicasAgree()
        if coordinator.isRoot {
            out("train: resumed from \(path) at step \(replica.step), epoch \(position.epoch), sample \(position.sampleInEpoch)")
        }
    }

    /// The priors schedule learns the codes of one VQ-VAE: the code shards must come from the VQ-VAE this run
    /// carries (resumed from the checkpoint that made them), and the checkpoint remembers which one it was.
    private func checkCodesMatchTheVQVAE() throws {
        let current = replica.vqvaeFingerprint
        guard let producer = manifest.producer else {
            throw TrainingSetupError("\(config.data.codesManifest): not written by vqvae2 extract-codes (no producer fingerprint)")
        }
        guard producer == current else {
            throw TrainingSetupError(
                "\(config.data.codesManifest): the codes come from another VQ-VAE (\(producer)); this run's VQ-VAE is \(current). "
                    + "Resume from the checkpoint the codes were extracted from (--resume), or extract them again")
        }
        if let earlier = replica.priorCodesFingerprint, earlier != producer {
            throw TrainingSetupError("the priors in this checkpoint were trained on codes of \(earlier), not \(producer)")
        }
        replica.priorCodesFingerprint = producer
    }

    /// Checks that the replicas agree, then writes and commits a checkpoint of the current state.
    @discardableResult
    package func saveCheckpoint() throws -> SavedCheckpoint {
        try checkReplicasAgree()
        var metadata = replica.checkpointMetadata(position: position)
        metadata.leaseGeneration = lease.generation
        metadata.vectorVariant = vectorVariant.rawValue
        _ = try coordinator.agree("setting aside a fenced checkpoint of step \(metadata.step)") { () -> Bool in
            guard coordinator.isRoot else { return false }
            if let aside = try CheckpointCatalog.setAsideFenced(step: metadata.step, in: checkpoints.root, below: lease.generation) {
                out("train: warning: \(aside)")
            }
            return true
        }
        let saved = try checkpoints.save(
            replica.checkpointTensors, metadata: metadata, config: configText,
            modelFingerprint: fingerprint, coordinator: coordinator)
        if coordinator.isRoot {
            out(String(format: "train: checkpoint %@ (%.1f s)", saved.path, saved.seconds))
        }
        return saved
    }

    /// Trains until `config.train.steps`; returns the last step's metrics.
    @discardableResult
    package func run() throws -> StepMetrics? {
        let t = config.train
        switch t.schedule {
        case .priors: try checkCodesMatchTheVQVAE()
        case .joint: replica.priorCodesFingerprint = nil  // the priors follow the VQ-VAE's codes as it trains
        case .vqvae: break  // priors trained on extracted codes stay tied to the VQ-VAE that made them
        }
        let sampler = try DistributedSampler(
            count: shards.count, globalBatch: t.globalBatch, rank: coordinator.rank, worldSize: coordinator.worldSize,
            seed: t.seed)
        let flip = config.data.flip && t.schedule != .priors
        let loader = BatchLoader(
            shards: shards, schedule: .training(sampler, start: position, flip: flip), prefetch: config.data.prefetch)
        defer { loader.stop() }
        let step = TrainingStep(replica: replica, coordinator: coordinator, reducer: reducer)
        let log = coordinator.isRoot ? try MetricsLog(path: config.runDirectory + "/metrics.jsonl", resumedStep: resumedStep) : nil
        let events = coordinator.isRoot
            ? try RunEvents(runDirectory: config.runDirectory, resumedStep: resumedStep, warn: out) : nil
        if coordinator.isRoot {
            out("train: \(t.schedule.rawValue) schedule, \(coordinator.worldSize) rank(s), global batch \(t.globalBatch) "
                + "(\(sampler.localBatch) per rank, \(t.microBatches) micro-batch(es)), \(shards.count) images, "
                + "\(sampler.stepsPerEpoch) steps per epoch, steps \(replica.step)..<\(t.steps)")
            out("train: parameters: VQ-VAE \(replica.stores.vqvae.count), top prior \(replica.stores.topPrior.count), bottom prior \(replica.stores.bottomPrior.count)")
        }
        var last: StepMetrics?
        let begin = Date()
        let firstStep = replica.step
        while replica.step < t.steps {
            guard let batch = try loader.next(), let batchPosition = batch.position else { break }
            let metrics = try step.run(batch)
            position = batchPosition.advanced(by: t.globalBatch, count: shards.count)
            last = metrics
            let done = replica.step
            fault?.fire(afterStep: done, rank: coordinator.rank, replica: replica)
            if config.intervals.checkEvery > 0 && done % config.intervals.checkEvery == 0 {
                try checkReplicasAgree()
            }
            if config.intervals.evaluateEvery > 0 && done % config.intervals.evaluateEvery == 0 && done < t.steps {
                do {
                    try evaluate(log: log, events: events)
                } catch is PhaseStopped {
                    stoppedOnRequest = try saveAfterStopWhileEvaluating()
                    return last
                }
            }
            if config.intervals.picturesEvery > 0 && done % config.intervals.picturesEvery == 0 && done < t.steps {
                do {
                    try drawPictures(final: false, events: events)
                } catch is SamplingStopped {
                    if coordinator.isRoot { out("train: stop requested while sampling (\(signals?.signalName ?? "signal")); saving and exiting") }
                    stoppedOnRequest = try saveCheckpoint()
                    return last
                }
            }
            if config.intervals.checkpointEvery > 0 && done % config.intervals.checkpointEvery == 0 && done < t.steps {
                try saveCheckpoint()
            }
            if coordinator.isRoot && (done % config.intervals.logEvery == 0 || done == t.steps) {
                try log?.append(metrics, kind: "train")
                try events?.record(metrics)
                let elapsed = Date().timeIntervalSince(begin)
                let eta = elapsed / Double(done - firstStep) * Double(t.steps - done)
                out(progressLine(metrics, epoch: batchPosition.epoch, eta: eta))
            }
            if try coordinator.anyRank(signals?.requested ?? false) {
                if coordinator.isRoot { out("train: stop requested (\(signals?.signalName ?? "signal")); saving and exiting") }
                stoppedOnRequest = try saveCheckpoint()
                return last
            }
        }
        do {
            if let report = try evaluate(log: log, events: events), coordinator.isRoot { try writeFinalReport(report) }
        } catch is PhaseStopped {
            stoppedOnRequest = try saveAfterStopWhileEvaluating()
            return last
        }
        // Saved before the final grid, which can be long: a stop while sampling then leaves the last step
        // committed.
        let saved = try saveCheckpoint()
        do {
            try drawPictures(final: true, events: events)
        } catch is SamplingStopped {
            if coordinator.isRoot { out("train: stop requested while sampling (\(signals?.signalName ?? "signal")); the checkpoint of the last step is committed") }
            stoppedOnRequest = saved
        }
        return last
    }

    /// Evaluates on the held-out split (all ranks), logs the report (to `log` and `events`) and prints its summary
    /// on rank 0. Throws `PhaseStopped` on every rank when a stop signal arrives meanwhile.
    @discardableResult
    package func evaluate(log: MetricsLog?, events: RunEvents? = nil) throws -> EvaluationReport? {
        guard let heldOut else { return nil }
        let report = try heldOut.run(replica, coordinator: coordinator, step: replica.step, stop: .signals(signals))
        if coordinator.isRoot {
            try log?.append(report, kind: "eval")
            try events?.record(report, step: replica.step)
            out(String(
                format: "eval: step %d, %d held-out images | mse %.5f psnr %.2f dB | codes top %.0f%% bottom %.0f%% | prior bits top %.3f bottom %.3f",
                replica.step, report.images, report.reconstruction, report.psnr, report.top.usage * 100,
                report.bottom.usage * 100, report.top.bits, report.bottom.bits))
        }
        return report
    }

    /// The last step's held-out report as `vqvae2 evaluate` writes it, `<run.directory>/evaluation.json`, and its
    /// table: the run's result, without a second pass over the held-out split.
    private func writeFinalReport(_ report: EvaluationReport) throws {
        let path = config.runDirectory + "/evaluation.json"
        try report.save(to: path)
        out(report.table)
        out("train: wrote \(path)")
    }

    /// A stop during an evaluation ends the run as one at a step boundary does: the state of the last step is saved.
    private func saveAfterStopWhileEvaluating() throws -> SavedCheckpoint {
        if coordinator.isRoot { out("train: stop requested while evaluating (\(signals?.signalName ?? "signal")); saving and exiting") }
        return try saveCheckpoint()
    }

    /// Rank 0 draws the reconstruction grid and the curves; all ranks together draw the class-conditional
    /// samples: a small grid (2 per class) at every `pictures_every`, the full one (6 per class) at the end.
    /// Rank 0 adds both grids to `events`. Throws `SamplingStopped` on every rank when a stop signal arrives while
    /// sampling.
    private func drawPictures(final: Bool, events: RunEvents?) throws {
        if coordinator.isRoot {
            if let heldOut, config.train.schedule != .priors {
                let path = try pictures.reconstructions(of: try heldOut.firstImages(16), replica: replica, step: replica.step)
                try events?.image("pictures/reconstructions", png: path, step: replica.step)
                out("pictures: \(path)")
            }
            out("pictures: \(try pictures.curves(metrics: config.runDirectory + "/metrics.jsonl"))")
        }
        guard config.train.schedule != .vqvae else { return }
        let classes = (0..<min(manifest.classes.count, 10)).map { Int32($0) }
        let grid = SampleGrid(
            classes: classes, perClass: final ? 6 : 2, temperature: 1, seed: config.train.seed,
            batch: min(16, classes.count * (final ? 6 : 2)))
        let progress = SamplingProgress(label: "pictures: sampling", output: out)
        let sampling = GridSampling(
            coordinator: coordinator, stopRequested: { [signals] in signals?.requested ?? false },
            progress: coordinator.isRoot ? progress.update : nil)
        let path = final ? nil : pictures.directory + String(format: "/samples-%08d.png", replica.step)
        if let written = try pictures.samples(
            replica: replica, grid: grid, sampling: sampling, classNames: manifest.classes.map(\.name), to: path)
        {
            try events?.image("pictures/samples", png: written, step: replica.step)
            out("pictures: \(written)")
        }
    }

    /// Parameters, optimiser state and codebooks must hold the same bits on every rank.
    package func checkReplicasAgree() throws {
        try coordinator.verifyIdentical(replica.stateTensors.map { ($0.name, UnsafeBufferPointer($0.values)) })
    }

    /// CRC-32 of every state tensor, "name=crc" in order: what tests compare between runs.
    package var stateChecksums: String {
        replica.stateTensors.map { tensor in
            var crc = CRC32()
            crc.update(UnsafeRawBufferPointer(tensor.values))
            return "\(tensor.name)=\(crc.hex)"
        }.joined(separator: " ")
    }

    private func progressLine(_ m: StepMetrics, epoch: Int, eta: Double) -> String {
        var parts = ["step \(m.step)/\(config.train.steps)", "epoch \(epoch)"]
        if m.schedule.trainedParts.contains(.vqvae) {
            parts.append(String(format: "mse %.5f commit %.4f/%.4f", m.reconstruction, m.commitmentTop, m.commitmentBottom))
            parts.append(String(
                format: "codes top %.0f%% ppl %.1f bottom %.0f%% ppl %.1f", m.topUsage * 100, m.topPerplexity,
                m.bottomUsage * 100, m.bottomPerplexity))
        }
        if m.schedule.trainedParts.contains(where: \.isPrior) {
            parts.append(String(format: "prior nats top %.3f bottom %.3f", m.topNats, m.bottomNats))
        }
        parts.append(String(format: "%.1f img/s", m.imagesPerSecond))
        parts.append("ETA " + formatDuration(eta))
        return parts.joined(separator: " | ")
    }
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
}

/// A run that cannot start: the message names the file and setting at fault.
package struct TrainingSetupError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
