import Model
import Numerics

/// One rank's full copy of everything that trains: the VQ-VAE, both priors, an Adam per model, and the step count.
///
/// Each model has its own parameter store (so the staged schedule can train one part at a time and the
/// gradient reducer can start one model's all-reduce while the next one's backward runs). Stores are indexed
/// 0 = VQ-VAE, 1 = top prior, 2 = bottom prior everywhere.
public final class Replica {
    public let config: ExperimentConfig
    public let stores: [ParameterStore]
    public let vqvae: VQVAE
    public let topPrior: TopPrior
    public let bottomPrior: BottomPrior
    public let optimizers: [Adam]
    /// Optimiser steps completed: the next step's index.
    public var step = 0
    /// When the priors were trained on extracted code shards: the fingerprint of the VQ-VAE that made them.
    public var priorCodesFingerprint: String?

    public static let storeNames = ["vqvae", "top_prior", "bottom_prior"]

    /// Builds the models for `classes` classes, each initialised from (seed, parameter index) streams: every rank
    /// builds the same replica from the same seed.
    public init(config: ExperimentConfig, classes: Int) throws {
        self.config = config
        stores = [ParameterStore(), ParameterStore(), ParameterStore()]
        vqvae = try VQVAE(stores[0], config: config.model, seed: config.train.seed)
        var top = config.topPrior, bottom = config.bottomPrior
        top.classes = classes
        bottom.classes = classes
        top.codebookSize = config.model.codebookSize
        bottom.codebookSize = config.model.codebookSize
        try top.validate()
        try bottom.validate()
        let side = config.model.imageSize
        topPrior = TopPrior(stores[1], name: "top_prior", config: top, height: side / 8, width: side / 8)
        bottomPrior = BottomPrior(stores[2], name: "bottom_prior", config: bottom, height: side / 4, width: side / 4)
        for (index, store) in stores.enumerated() { store.materialize(seed: config.train.seed &+ UInt64(index) &* 0x9E37) }
        let t = config.train
        optimizers = stores.map {
            Adam(count: $0.count, beta1: t.adamBeta1, beta2: t.adamBeta2, epsilon: t.adamEpsilon, weightDecay: t.weightDecay)
        }
    }

    /// The learning rate of store `index` at the current step.
    public func learningRate(store index: Int) -> Float {
        let t = config.train
        let schedule = LearningRateSchedule(
            base: index == 0 ? t.learningRate : t.priorLearningRate, warmupSteps: t.warmupSteps,
            decay: t.decay == "cosine" ? .cosine : .constant, totalSteps: t.steps, minimum: t.minimumLearningRate)
        return schedule.rate(at: step)
    }

    /// Every float of state, by name: parameters, Adam moments, codebooks and EMA statistics. What replicas must
    /// agree on bit for bit, and what a checkpoint saves.
    public var stateTensors: [(name: String, values: UnsafeMutableBufferPointer<Float>)] {
        var tensors: [(String, UnsafeMutableBufferPointer<Float>)] = []
        for (index, name) in Replica.storeNames.enumerated() {
            let store = stores[index]
            tensors.append(("\(name)/parameters", UnsafeMutableBufferPointer(start: store.values, count: store.count)))
            tensors.append(("\(name)/adam/m", optimizers[index].m))
            tensors.append(("\(name)/adam/v", optimizers[index].v))
        }
        for (level, quantizer) in [("top", vqvae.top), ("bottom", vqvae.bottom)] {
            tensors.append(("vqvae/\(level)/codebook", quantizer.codebook))
            tensors.append(("vqvae/\(level)/ema_counts", quantizer.counts))
            tensors.append(("vqvae/\(level)/ema_sums", quantizer.sums))
        }
        return tensors
    }

    /// The buffers rank 0 broadcasts at start-up: every store's parameters (codebooks start from data later).
    public var initialParameters: [UnsafeMutableBufferPointer<Float>] {
        stores.map { UnsafeMutableBufferPointer(start: $0.values, count: $0.count) }
    }
}
