import Model
import Numerics

/// One rank's full copy of everything that trains: the VQ-VAE, both priors, an Adam per model, and the step count.
///
/// Each model part has its own parameter store (so the staged schedule can train one part at a time and the
/// gradient reducer can start one model's all-reduce while the next one's backward runs).
package final class Replica {
    package let config: ExperimentConfig
    package let stores: PerPart<ParameterStore>
    package let vqvae: VQVAE
    package let topPrior: TopPrior
    package let bottomPrior: BottomPrior
    package let optimizers: PerPart<Adam>
    /// Optimiser steps completed: the next step's index.
    package var step = 0
    /// When the priors were trained on extracted code shards: the fingerprint of the VQ-VAE that made them.
    package var priorCodesFingerprint: String?

    /// Builds the models for `classes` classes, each initialised from (seed, parameter index) streams: every rank
    /// builds the same replica from the same seed.
    package init(config: ExperimentConfig, classes: Int) throws {
        self.config = config
        let stores = PerPart { _ in ParameterStore() }
        self.stores = stores
        (vqvae, topPrior, bottomPrior) = try Self.models(config: config, classes: classes, stores: stores)
        topPrior.recomputesGatedLayers = config.train.recomputeGatedLayers
        bottomPrior.recomputesGatedLayers = config.train.recomputeGatedLayers
        // The seed offsets are the parts' positions in ModelPart.allCases, fixed so that a seed keeps its model.
        for (index, store) in stores.all.enumerated() {
            store.materialize(seed: config.train.seed &+ UInt64(index) &* 0x9E37)
        }
        let t = config.train
        optimizers = PerPart { part in
            Adam(
                count: stores[part].count, beta1: t.adamBeta1, beta2: t.adamBeta2, epsilon: t.adamEpsilon,
                weightDecay: t.weightDecay)
        }
    }

    /// The parameters of each part for `config` and `classes`, counted from the shapes the models register: the
    /// stores are never materialized, so a paper-sized config costs no more memory to count than a small one.
    package static func parameterCounts(config: ExperimentConfig, classes: Int) throws -> PerPart<Int> {
        let stores = PerPart { _ in ParameterStore() }
        _ = try models(config: config, classes: classes, stores: stores)
        return PerPart { stores[$0].count }
    }

    /// The three models over `stores`, their parameters registered and not yet materialized.
    private static func models(
        config: ExperimentConfig, classes: Int, stores: PerPart<ParameterStore>
    ) throws -> (VQVAE, TopPrior, BottomPrior) {
        let vqvae = try VQVAE(stores.vqvae, config: config.model, seed: config.train.seed)
        var top = config.topPrior, bottom = config.bottomPrior
        top.classes = classes
        bottom.classes = classes
        top.codebookSize = config.model.codebookSize
        bottom.codebookSize = config.model.codebookSize
        try top.validate()
        try bottom.validate()
        let side = config.model.imageSize
        let topPrior = TopPrior(
            stores.topPrior, name: ModelPart.topPrior.name, config: top, height: side / 8, width: side / 8)
        let bottomPrior = BottomPrior(
            stores.bottomPrior, name: ModelPart.bottomPrior.name, config: bottom, height: side / 4, width: side / 4)
        return (vqvae, topPrior, bottomPrior)
    }

    /// The learning rate of `part` at the current step.
    package func learningRate(_ part: ModelPart) -> Float {
        let t = config.train
        let schedule = LearningRateSchedule(
            base: part.isPrior ? t.priorLearningRate : t.learningRate, warmupSteps: t.warmupSteps,
            decay: t.decay, totalSteps: t.steps, minimum: t.minimumLearningRate)
        return schedule.rate(at: step)
    }

    /// Every float of state, by name: parameters, Adam moments, codebooks and EMA statistics. What replicas must
    /// agree on bit for bit, and what a checkpoint saves.
    package var stateTensors: [(name: String, values: UnsafeMutableBufferPointer<Float>)] {
        var tensors: [(String, UnsafeMutableBufferPointer<Float>)] = []
        for part in ModelPart.allCases {
            let store = stores[part]
            tensors.append(("\(part.name)/parameters", UnsafeMutableBufferPointer(start: store.values, count: store.count)))
            tensors.append(("\(part.name)/adam/m", optimizers[part].m))
            tensors.append(("\(part.name)/adam/v", optimizers[part].v))
        }
        for level in VQVAELevel.allCases {
            let quantizer = vqvae.quantizer(level)
            tensors.append(("vqvae/\(level.name)/codebook", quantizer.codebook))
            tensors.append(("vqvae/\(level.name)/ema_counts", quantizer.counts))
            tensors.append(("vqvae/\(level.name)/ema_sums", quantizer.sums))
        }
        return tensors
    }

    /// The buffers rank 0 broadcasts at start-up: every store's parameters (codebooks start from data later).
    package var initialParameters: [UnsafeMutableBufferPointer<Float>] {
        stores.all.map { UnsafeMutableBufferPointer(start: $0.values, count: $0.count) }
    }
}
