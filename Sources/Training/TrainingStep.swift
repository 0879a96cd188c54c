import DataPipeline
import Foundation
import Model
import Numerics

/// One optimiser step of a replica on this rank's share of a global batch, with the other ranks through `sync`.
///
/// Order, identical on every rank:
///  1. (first step) codebooks start from the batch's encoder outputs, gathered over ranks in global sample order;
///  2. per micro-batch: VQ-VAE forward and backward; then, in the joint schedule, both priors on the micro-batch's
///     codes (which carry no gradient back into the encoder). Each micro-batch's gradients are summed from zero
///     and then added to the earlier ones', so that two micro-batches on one rank equal two ranks bit for bit;
///  3. after the last micro-batch's backward of each model, its gradient all-reduce starts (overlap); then all
///     gradients are summed and scaled by 1 / (ranks * micro-batches): the mean over the global batch;
///  4. the EMA statistics of both levels, summed over ranks in one fused all-reduce;
///  5. a collective check that every loss is finite (a NaN on any rank stops all ranks cleanly);
///  6. optional gradient clipping, Adam, the EMA update, and dead-code restarts from candidates gathered over ranks.
public final class TrainingStep {
    public let replica: Replica
    public let sync: ReplicaSync
    private let topLoss = SoftmaxCrossEntropy()
    private let bottomLoss = SoftmaxCrossEntropy()
    private let microImages = Tensor(shape: [0])
    private let carry: [UnsafeMutableBufferPointer<Float>]
    /// Quantiser inputs of every micro-batch of the step: the local restart candidates of each level.
    private var candidates: [[Float]] = [[], []]

    public init(replica: Replica, sync: ReplicaSync) {
        self.replica = replica
        self.sync = sync
        carry = replica.stores.map { .allocate(capacity: max($0.count, 1)) }
        (sync as? LocalSync)?.stores = replica.stores
    }

    deinit { carry.forEach { $0.deallocate() } }

    /// Runs one step on `batch` (this rank's slice) and returns metrics summed over ranks.
    public func run(_ batch: Batch) throws -> StepMetrics {
        let start = Date()
        let schedule = replica.config.train.schedule
        let microCount = replica.config.train.microBatches
        precondition(batch.count % microCount == 0, "a batch of \(batch.count) does not split into \(microCount) micro-batches")
        let micro = batch.count / microCount
        var metrics = StepMetrics()
        metrics.step = replica.step
        metrics.schedule = schedule.rawValue
        metrics.learningRate = Double(replica.learningRate(store: schedule == .priors ? 1 : 0))

        let trainsVQVAE = schedule != .priors, trainsPriors = schedule != .vqvae
        if trainsVQVAE && !replica.vqvae.top.isInitialized { try initializeCodebooks(batch.images, microCount: microCount) }
        let trained = replica.stores.indices.filter { $0 == 0 ? trainsVQVAE : trainsPriors }
        for index in trained { replica.stores[index].zeroGradients() }
        candidates = [[], []]

        // Sums over micro-batches of their mean losses: reconstruction, commitment top and bottom, prior nats top
        // and bottom.
        var sums = [Double](repeating: 0, count: 5)
        for m in 0..<microCount {
            let isLast = m == microCount - 1
            let labels = Array(batch.labels[(m * micro)..<((m + 1) * micro)])
            let topCodes: [Int32], bottomCodes: [Int32]
            if trainsVQVAE {
                slice(batch.images, micro: m, size: micro)
                let losses = replica.vqvae.forward(microImages, training: true)
                sums[0] += Double(losses.reconstruction)
                sums[1] += Double(losses.commitmentTop)
                sums[2] += Double(losses.commitmentBottom)
                topCodes = replica.vqvae.top.indices
                bottomCodes = replica.vqvae.bottom.indices
                for (index, level) in VQVAELevel.allCases.enumerated() {
                    candidates[index] += replica.vqvae.lastQuantizerInput(level).array
                }
                replica.vqvae.backward()
                if isLast { try sync.gradientsReady(store: 0) }
                try sync.poll()
            } else {
                let topArea = batch.top.count / batch.count, bottomArea = batch.bottom.count / batch.count
                topCodes = Array(batch.top[(m * micro * topArea)..<((m + 1) * micro * topArea)])
                bottomCodes = Array(batch.bottom[(m * micro * bottomArea)..<((m + 1) * micro * bottomArea)])
            }
            if trainsPriors {
                let dropout = DropoutContext(
                    seed: replica.config.train.seed, step: replica.step, firstSample: batch.firstSample + m * micro)
                let top = try accumulate(store: 1, first: m == 0) {
                    let logits = replica.topPrior.forward(codes: topCodes, labels: labels, batch: micro, dropout: dropout)
                    let nll = topLoss.forward(logits, targets: topCodes)
                    replica.topPrior.backward(topLoss.backward())
                    return nll
                }
                if isLast { try sync.gradientsReady(store: 1) }
                try sync.poll()
                let bottom = try accumulate(store: 2, first: m == 0) {
                    let logits = replica.bottomPrior.forward(
                        codes: bottomCodes, topCodes: topCodes, labels: labels, batch: micro, dropout: dropout)
                    let nll = bottomLoss.forward(logits, targets: bottomCodes)
                    replica.bottomPrior.backward(bottomLoss.backward())
                    return nll
                }
                if isLast { try sync.gradientsReady(store: 2) }
                sums[3] += top.natsPerPosition
                sums[4] += bottom.natsPerPosition
            }
        }
        try sync.finishGradients(scale: 1 / Float(sync.worldSize * microCount), stores: trained)
        if trainsVQVAE { try sync.sumStatistics(replica.vqvae.localEMAStatistics) }

        let local = sums.map { $0 / Double(microCount) }
        let finite = local.allSatisfy(\.isFinite)
        if try sync.anyRank(!finite) {
            throw TrainingError.nonFinite(step: replica.step, ranks: try sync.ranks(where: !finite))
        }
        let global = try sync.sum(local).map { $0 / Double(sync.worldSize) }
        metrics.reconstruction = global[0]
        metrics.commitmentTop = global[1]
        metrics.commitmentBottom = global[2]
        metrics.topNats = global[3]
        metrics.bottomNats = global[4]

        for index in trained {
            let store = replica.stores[index]
            if replica.config.train.clipGradientNorm > 0 {
                GradientClipping.clip(store.gradients, count: store.count, maxNorm: Double(replica.config.train.clipGradientNorm))
            }
            replica.optimizers[index].update(
                values: store.values, gradients: store.gradients, lr: replica.learningRate(store: index))
        }
        if trainsVQVAE {
            let usage = replica.vqvae.applyEMAUpdate(from: UnsafePointer(replica.vqvae.localEMAStatistics.baseAddress!))
            metrics.topUsage = usage.top.usage
            metrics.topLive = usage.top.liveUsage
            metrics.topPerplexity = usage.top.perplexity
            metrics.bottomUsage = usage.bottom.usage
            metrics.bottomLive = usage.bottom.liveUsage
            metrics.bottomPerplexity = usage.bottom.perplexity
            if replica.vqvae.restartsDue {
                metrics.restartedTop = try restart(.top)
                metrics.restartedBottom = try restart(.bottom)
            }
        }
        replica.step += 1
        metrics.images = batch.count * sync.worldSize
        metrics.exposedCommunication = sync.takeExposedSeconds()
        metrics.seconds = Date().timeIntervalSince(start)
        return metrics
    }

    /// Runs a prior's forward and backward so that its gradients for this micro-batch are summed from zero and only
    /// then added to the earlier micro-batches' (see the type's comment).
    private func accumulate(store index: Int, first: Bool, _ body: () -> NegativeLogLikelihood) throws -> NegativeLogLikelihood {
        let store = replica.stores[index]
        if first { return body() }
        let saved = carry[index].baseAddress!
        saved.update(from: store.gradients, count: store.count)
        store.zeroGradients()
        let result = body()
        let g = store.gradients
        for i in 0..<store.count { g[i] += saved[i] }
        return result
    }

    /// Copies micro-batch `m` of `images` into `microImages`.
    private func slice(_ images: Tensor, micro m: Int, size: Int) {
        let perImage = images.count / images.n
        microImages.resize([size, images.h, images.w, images.c])
        microImages.data.update(from: images.data + m * size * perImage, count: size * perImage)
    }

    /// Gathers `level`'s local vectors from every rank (rank order = global sample order).
    private func gathered(_ local: [Float]) throws -> [Float] {
        var all = [Float](repeating: 0, count: local.count * sync.worldSize)
        try local.withUnsafeBufferPointer { local in try all.withUnsafeMutableBufferPointer { try sync.gatherRows(local, into: $0) } }
        return all
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
            let all = try gathered(local)
            all.withUnsafeBufferPointer {
                replica.vqvae.quantizer(level).initialize(from: $0.baseAddress!, count: all.count / replica.config.model.codeDim)
            }
        }
    }

    private func restart(_ level: VQVAELevel) throws -> Int {
        let all = try gathered(candidates[level.rawValue])
        return all.withUnsafeBufferPointer {
            replica.vqvae.quantizer(level).restartDeadCodes(from: $0.baseAddress!, count: all.count / replica.config.model.codeDim)
        }
    }
}

/// A step that cannot go on.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFinite(step: Int, ranks: [Int])

    public var description: String {
        switch self {
        case .nonFinite(let step, let ranks):
            return "step \(step): a loss is NaN or infinite on rank(s) \(ranks.map(String.init).joined(separator: ", ")); all ranks stopped"
        }
    }
}
