import Model

/// What one step measured, summed or averaged over every rank (identical on all of them).
package struct StepMetrics: Codable, Sendable, Equatable {
    /// The number of steps taken, this one included (as the progress line and the held-out records count them).
    package var step = 0
    package var schedule = ExperimentConfig.Schedule.joint
    /// Mean squared error of the reconstruction on [-1, 1], and the commitment terms (VQ-VAE schedules).
    package var reconstruction = 0.0
    package var commitmentTop = 0.0
    package var commitmentBottom = 0.0
    /// Prior cross-entropy in nats per code (prior schedules).
    package var topNats = 0.0
    package var bottomNats = 0.0
    /// Codebook use: fraction of codes the global batch used, fraction alive in the EMA counts, perplexity.
    package var topUsage = 0.0
    package var topLive = 0.0
    package var topPerplexity = 0.0
    package var bottomUsage = 0.0
    package var bottomLive = 0.0
    package var bottomPerplexity = 0.0
    package var restartedTop = 0
    package var restartedBottom = 0
    package var learningRate = 0.0
    /// Images in the global batch, wall seconds of the step, and seconds of communication left exposed.
    package var images = 0
    package var seconds = 0.0
    package var exposedCommunication = 0.0

    package init() {}

    /// Records `losses` in the loss fields.
    package mutating func record(_ losses: StepLosses) {
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

    package var topBits: Double { topNats / 0.693_147_180_559_945_3 }
    package var bottomBits: Double { bottomNats / 0.693_147_180_559_945_3 }
    package var imagesPerSecond: Double { seconds > 0 ? Double(images) / seconds : 0 }
}
