import Model

/// What one step measured, summed or averaged over every rank (identical on all of them).
public struct StepMetrics: Codable, Sendable, Equatable {
    public var step = 0
    public var schedule = ExperimentConfig.Schedule.joint
    /// Mean squared error of the reconstruction on [-1, 1], and the commitment terms (VQ-VAE schedules).
    public var reconstruction = 0.0
    public var commitmentTop = 0.0
    public var commitmentBottom = 0.0
    /// Prior cross-entropy in nats per code (prior schedules).
    public var topNats = 0.0
    public var bottomNats = 0.0
    /// Codebook use: fraction of codes the global batch used, fraction alive in the EMA counts, perplexity.
    public var topUsage = 0.0
    public var topLive = 0.0
    public var topPerplexity = 0.0
    public var bottomUsage = 0.0
    public var bottomLive = 0.0
    public var bottomPerplexity = 0.0
    public var restartedTop = 0
    public var restartedBottom = 0
    public var learningRate = 0.0
    /// Images in the global batch, wall seconds of the step, and seconds of communication left exposed.
    public var images = 0
    public var seconds = 0.0
    public var exposedCommunication = 0.0

    public init() {}

    /// Records `losses` in the loss fields.
    public mutating func record(_ losses: StepLosses) {
        reconstruction = losses.reconstruction
        commitmentTop = losses.commitment.top
        commitmentBottom = losses.commitment.bottom
        topNats = losses.priorNats.top
        bottomNats = losses.priorNats.bottom
    }

    /// Records both levels' codebook use after the step's EMA update.
    mutating func record(_ usage: PerLevel<CodebookUsage>) {
        topUsage = usage.top.usage
        topLive = usage.top.liveUsage
        topPerplexity = usage.top.perplexity
        bottomUsage = usage.bottom.usage
        bottomLive = usage.bottom.liveUsage
        bottomPerplexity = usage.bottom.perplexity
    }

    public var topBits: Double { topNats / 0.693_147_180_559_945_3 }
    public var bottomBits: Double { bottomNats / 0.693_147_180_559_945_3 }
    public var imagesPerSecond: Double { seconds > 0 ? Double(images) / seconds : 0 }
}
