import Coordination
import DataPipeline
import Foundation
import Model
import Numerics

/// One optimiser step of a replica on this rank's share of a global batch, with the other ranks through the
/// coordinator and the gradient reducer (over a single-rank collective, one process runs the same code).
///
/// The stages, in the same order on every rank:
///  1. `prepare`: zero the gradients; on the first step, start the codebooks from the batch's encoder outputs,
///     gathered over ranks in global sample order;
///  2. per micro-batch, `encodeAndTrainVQVAE` (forward, EMA statistics, backward) and `trainPriors` on the
///     micro-batch's codes (which carry no gradient back into the encoder). Every gradient and statistic of a
///     micro-batch is summed from zero and then added to the earlier ones' (`MicroBatchSum`), so that two
///     micro-batches on one rank equal two ranks bit for bit. After the last micro-batch's backward of each model
///     its gradient all-reduce may start, overlapping the next model's backward;
///  3. `reduce`: gradients averaged over the global batch, the EMA statistics of both levels summed over ranks
///     in one buffer, a collective check that every loss is finite (a NaN on any rank stops all ranks cleanly),
///     and the losses averaged over ranks;
///  4. `update`: optional gradient clipping, Adam, the EMA update, and dead-code restarts from candidates
///     gathered over ranks.
package final class TrainingStep {
    package let replica: Replica
    package let coordinator: Coordinator
    package let reducer: GradientReducer
    /// The parts this step trains: the schedule's, or a benchmark's single prior.
    package let parts: [ModelPart]
    private let loss = PerLevel(top: SoftmaxCrossEntropy(), bottom: SoftmaxCrossEntropy())
    private let priorGradientSums = PerLevel(top: MicroBatchSum(), bottom: MicroBatchSum())
    private let microImages = Tensor(shape: [0])
    /// Quantiser inputs of every micro-batch of the step: the local restart candidates of each level.
    private var candidates = PerLevel<[Float]>(repeating: [])

    /// `parts` defaults to the schedule's (`config.train.schedule.trainedParts`).
    package init(replica: Replica, coordinator: Coordinator, reducer: GradientReducer, parts: [ModelPart]? = nil) {
        self.replica = replica
        self.coordinator = coordinator
        self.reducer = reducer
        self.parts = parts ?? replica.config.train.schedule.trainedParts
    }

    private var trainsVQVAE: Bool { parts.contains(.vqvae) }

    /// One micro-batch of this rank's share: its labels, codes, and where it starts in the global batch.
    private struct MicroBatch {
        let index: Int
        let isLast: Bool
        let size: Int
        let labels: [Int32]
        let firstSample: Int
        var topCodes: [Int32] = []
        var bottomCodes: [Int32] = []
    }

    /// Runs one step on `batch` (this rank's slice) and returns metrics summed over ranks.
    package func run(_ batch: Batch) throws -> StepMetrics {
        let start = Date()
        let microCount = replica.config.train.microBatches
        var metrics = StepMetrics()
        metrics.step = replica.step + 1
        metrics.schedule = replica.config.train.schedule
        metrics.learningRate = Double(replica.learningRate(trainsVQVAE ? .vqvae : .topPrior))

        try prepare(batch, microCount: microCount)
        var sums = StepLosses()
        for m in 0..<microCount {
            var micro = microBatch(m, of: batch, count: microCount)
            if trainsVQVAE {
                let losses = try encodeAndTrainVQVAE(&micro, images: batch.images)
                sums.reconstruction += losses.reconstruction
                sums.commitment.top += losses.commitment.top
                sums.commitment.bottom += losses.commitment.bottom
            }
            let nats = try trainPriors(micro)
            sums.priorNats.top += nats.top
            sums.priorNats.bottom += nats.bottom
        }
        metrics.record(try reduce(sums.averaged(over: microCount), microCount: microCount))
        if trainsVQVAE {
            let (usage, restarted) = try update()
            metrics.record(usage)
            metrics.restartedTop = restarted.top
            metrics.restartedBottom = restarted.bottom
        } else {
            try updateParameters()
        }
        replica.step += 1
        metrics.images = batch.count * coordinator.worldSize
        metrics.exposedCommunication = reducer.takeExposedSeconds()
        metrics.seconds = Date().timeIntervalSince(start)
        return metrics
    }

    // MARK: Stages

    /// Zeroes the trained parts' gradients; before the VQ-VAE's first step, starts its codebooks from data.
    private func prepare(_ batch: Batch, microCount: Int) throws {
        precondition(
            batch.count % microCount == 0, "a batch of \(batch.count) does not split into \(microCount) micro-batches")
        if trainsVQVAE && !replica.vqvae.top.isInitialized {
            try initializeCodebooks(batch.images, microCount: microCount)
        }
        for part in parts { replica.stores[part].zeroGradients() }
        candidates = PerLevel(repeating: [])
    }

    /// The VQ-VAE's forward (which adds the micro-batch's EMA statistics) and backward; records the micro-batch's
    /// codes for the priors and its quantiser inputs as restart candidates.
    private func encodeAndTrainVQVAE(_ micro: inout MicroBatch, images: Tensor) throws -> StepLosses {
        slice(images, micro: micro.index, size: micro.size)
        let forward = replica.vqvae.forward(microImages, training: true)
        var losses = StepLosses()
        losses.reconstruction = Double(forward.reconstruction)
        losses.commitment = PerLevel(top: Double(forward.commitmentTop), bottom: Double(forward.commitmentBottom))
        micro.topCodes = replica.vqvae.top.indices
        micro.bottomCodes = replica.vqvae.bottom.indices
        for level in VQVAELevel.allCases {
            candidates[level] += replica.vqvae.lastQuantizerInput(level).array
        }
        replica.vqvae.backward()
        if micro.isLast { try reducer.gradientsReady(replica.stores.vqvae) }
        try reducer.poll()
        return losses
    }

    /// Both priors' forward and backward on the micro-batch's codes; returns their cross-entropy in nats per code.
    private func trainPriors(_ micro: MicroBatch) throws -> PerLevel<Double> {
        var nats = PerLevel(repeating: 0.0)
        let dropout = DropoutContext(
            seed: replica.config.train.seed, step: replica.step, firstSample: micro.firstSample)
        if parts.contains(.topPrior) {
            nats.top = priorGradientSums.top.add(
                into: replica.stores.topPrior.gradients, count: replica.stores.topPrior.count,
                totalIsZero: micro.index == 0
            ) {
                let logits = replica.topPrior.forward(
                    codes: micro.topCodes, labels: micro.labels, batch: micro.size, dropout: dropout)
                let nll = loss.top.forward(logits, targets: micro.topCodes)
                replica.topPrior.backward(loss.top.backward())
                return nll.natsPerPosition
            }
            if micro.isLast { try reducer.gradientsReady(replica.stores.topPrior) }
            try reducer.poll()
        }
        if parts.contains(.bottomPrior) {
            nats.bottom = priorGradientSums.bottom.add(
                into: replica.stores.bottomPrior.gradients, count: replica.stores.bottomPrior.count,
                totalIsZero: micro.index == 0
            ) {
                let logits = replica.bottomPrior.forward(
                    codes: micro.bottomCodes, topCodes: micro.topCodes, labels: micro.labels, batch: micro.size,
                    dropout: dropout)
                let nll = loss.bottom.forward(logits, targets: micro.bottomCodes)
                replica.bottomPrior.backward(loss.bottom.backward())
                return nll.natsPerPosition
            }
            if micro.isLast { try reducer.gradientsReady(replica.stores.bottomPrior) }
        }
        return nats
    }

    /// Averages the gradients and sums the EMA statistics over ranks, stops every rank if any loss is not finite,
    /// and returns `local` (this rank's mean losses) averaged over ranks.
    private func reduce(_ local: StepLosses, microCount: Int) throws -> StepLosses {
        try reducer.average(parts.map { replica.stores[$0] }, microBatches: microCount)
        if trainsVQVAE { try coordinator.sumEMAStatistics(replica.vqvae.emaStatistics) }
        if try coordinator.anyRank(!local.isFinite) {
            throw TrainingError.nonFinite(step: replica.step, ranks: try coordinator.ranks(where: !local.isFinite))
        }
        return StepLosses(values: try coordinator.sum(local.values)).averaged(over: coordinator.worldSize)
    }

    /// Clipping and Adam for every trained part.
    private func updateParameters() throws {
        for part in parts {
            let store = replica.stores[part]
            if replica.config.train.clipGradientNorm > 0 {
                GradientClipping.clip(
                    store.gradients, count: store.count, maxNorm: Double(replica.config.train.clipGradientNorm))
            }
            replica.optimizers[part].update(
                values: store.values, gradients: store.gradients, lr: replica.learningRate(part))
        }
    }

    /// The parameter update, then the EMA codebook update and (when due) dead-code restarts; returns the usage
    /// after the update and how many codes each level restarted.
    private func update() throws -> (usage: PerLevel<CodebookUsage>, restarted: PerLevel<Int>) {
        try updateParameters()
        let usage = replica.vqvae.applyEMAUpdate()
        var restarted = PerLevel(repeating: 0)
        if replica.vqvae.restartsDue {
            for level in VQVAELevel.allCases { restarted[level] = try restart(level) }
        }
        return (usage, restarted)
    }

    // MARK: Helpers

    private func microBatch(_ m: Int, of batch: Batch, count: Int) -> MicroBatch {
        let size = batch.count / count
        var micro = MicroBatch(
            index: m, isLast: m == count - 1, size: size, labels: Array(batch.labels[(m * size)..<((m + 1) * size)]),
            firstSample: batch.firstSample + m * size)
        if !trainsVQVAE {
            let topArea = batch.top.count / batch.count, bottomArea = batch.bottom.count / batch.count
            micro.topCodes = Array(batch.top[(m * size * topArea)..<((m + 1) * size * topArea)])
            micro.bottomCodes = Array(batch.bottom[(m * size * bottomArea)..<((m + 1) * size * bottomArea)])
        }
        return micro
    }

    /// Copies micro-batch `m` of `images` into `microImages`.
    private func slice(_ images: Tensor, micro m: Int, size: Int) {
        let perImage = images.count / images.n
        microImages.resize([size, images.h, images.w, images.c])
        microImages.data.update(from: images.data + m * size * perImage, count: size * perImage)
    }

    /// Data-dependent start: each level's codebook from the encoder outputs of the whole global batch, computed
    /// micro-batch by micro-batch (the unit every rank count shares, so the vectors are the same bits).
    private func initializeCodebooks(_ images: Tensor, microCount: Int) throws {
        let micro = images.n / microCount
        for level in VQVAELevel.allCases {
            var local: [Float] = []
            for m in 0..<microCount {
                slice(images, micro: m, size: micro)
                local += replica.vqvae.quantizerInput(for: microImages, level: level).array
            }
            let all = try coordinator.gatherRows(local)
            all.withUnsafeBufferPointer {
                replica.vqvae.quantizer(level).initialize(from: $0.baseAddress!, count: all.count / replica.config.model.codeDim)
            }
        }
    }

    private func restart(_ level: VQVAELevel) throws -> Int {
        let all = try coordinator.gatherRows(candidates[level])
        return all.withUnsafeBufferPointer {
            replica.vqvae.quantizer(level).restartDeadCodes(from: $0.baseAddress!, count: all.count / replica.config.model.codeDim)
        }
    }
}

/// A step that cannot go on.
package enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFinite(step: Int, ranks: [Int])

    package var description: String {
        switch self {
        case .nonFinite(let step, let ranks):
            return "step \(step): a loss is NaN or infinite on rank(s) \(ranks.map(String.init).joined(separator: ", ")); all ranks stopped"
        }
    }
}
