/// The scalars of the training state that are not tensors, saved in the manifest.
///
/// The data position is counted in global samples so that it maps onto any world size at resume.
package struct CheckpointMetadata: Codable, Equatable, Sendable {
    /// Optimiser steps taken; the checkpoint directory is named after it.
    package var step: Int
    /// The epoch of the next sample to read.
    package var dataEpoch: Int
    /// The position of the next sample within `dataEpoch`, in global samples.
    package var dataSampleInEpoch: Int
    /// Adam's step count per optimiser (for example "vqvae", "top_prior").
    package var optimizerSteps: [String: Int]
    /// The number of EMA codebook updates per quantiser level (for example "vqvae/top").
    package var emaUpdates: [String: Int]
    /// Other floating-point scalars (for example a learning-rate scale).
    package var scalars: [String: Double]
    /// Free-form extras.
    package var extras: [String: String]
    /// The generation of the checkpoint directory's lease under which the run wrote it (`CheckpointLease`); nil in
    /// checkpoints written before leases, which count as generation 0.
    package var leaseGeneration: Int?
    /// The vector variant (`VectorVariant`'s name) the run computed with; nil in checkpoints written before
    /// variants, which computed as the baseline does.
    package var vectorVariant: String?

    package init(
        step: Int, dataEpoch: Int = 0, dataSampleInEpoch: Int = 0, optimizerSteps: [String: Int] = [:],
        emaUpdates: [String: Int] = [:], scalars: [String: Double] = [:], extras: [String: String] = [:],
        leaseGeneration: Int? = nil, vectorVariant: String? = nil
    ) {
        self.step = step
        self.dataEpoch = dataEpoch
        self.dataSampleInEpoch = dataSampleInEpoch
        self.optimizerSteps = optimizerSteps
        self.emaUpdates = emaUpdates
        self.scalars = scalars
        self.extras = extras
        self.leaseGeneration = leaseGeneration
        self.vectorVariant = vectorVariant
    }

    enum CodingKeys: String, CodingKey {
        case step
        case dataEpoch = "data_epoch"
        case dataSampleInEpoch = "data_sample_in_epoch"
        case optimizerSteps = "optimizer_steps"
        case emaUpdates = "ema_updates"
        case scalars, extras
        case leaseGeneration = "lease_generation"
        case vectorVariant = "vector_variant"
    }
}
