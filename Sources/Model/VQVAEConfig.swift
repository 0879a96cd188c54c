/// Every hyper-parameter of the hierarchical VQ-VAE and its EMA codebooks; defaults are the paper's ImageNet settings.
package struct VQVAEConfig: Sendable, Equatable, Codable {
    /// Side of the square input images in pixels; the top codes are imageSize/8 on a side, the bottom imageSize/4.
    package var imageSize: Int = 256
    /// Colour channels of the images (3 for RGB).
    package var imageChannels: Int = 3
    /// Hidden channels C of the encoders and decoders.
    package var channels: Int = 128
    /// Channels inside each residual block (the paper's 64; the popular PyTorch port uses 32).
    package var residualChannels: Int = 64
    /// Residual blocks per stack.
    package var residualBlocks: Int = 2
    /// Codes per codebook K (one codebook per level).
    package var codebookSize: Int = 512
    /// Dimension D of each code.
    package var codeDim: Int = 64
    /// Weight beta of the commitment loss.
    package var beta: Float = 0.25
    /// EMA decay gamma of the codebook statistics.
    package var emaDecay: Float = 0.99
    /// Laplace smoothing eps of the EMA counts.
    package var emaEpsilon: Float = 1e-5
    /// A code whose EMA count N_i falls below this is dead; it is in units of assigned vectors per (global) batch,
    /// so 1 means "used less than about once per batch lately".
    package var deadCodeThreshold: Float = 1
    /// Whether dead codes are restarted from encoder outputs of the current batch.
    package var restartDeadCodes: Bool = true
    /// Restarts happen after every `restartInterval`-th EMA update.
    package var restartInterval: Int = 1

    package init() {}

    /// A small model for tests and demos: 32x32 images, 64 hidden channels, 128 codes of 32 dimensions.
    package static var small: VQVAEConfig {
        var config = VQVAEConfig()
        config.imageSize = 32
        config.channels = 64
        config.residualChannels = 32
        config.residualBlocks = 2
        config.codebookSize = 128
        config.codeDim = 32
        return config
    }

    /// Throws for values no model can be built or trained with, naming the field.
    package func validate() throws {
        func fail(_ field: String, _ value: Any, _ reason: String) -> VQVAEConfigError {
            VQVAEConfigError(field: field, value: "\(value)", reason: reason)
        }
        if imageSize <= 0 || imageSize % 8 != 0 {
            throw fail("imageSize", imageSize, "must be a positive multiple of 8 (the top codes are 1/8 of it)")
        }
        if imageChannels <= 0 { throw fail("imageChannels", imageChannels, "must be positive") }
        if channels <= 0 || channels % 2 != 0 {
            throw fail("channels", channels, "must be positive and even (the first layers use channels/2)")
        }
        if residualChannels <= 0 { throw fail("residualChannels", residualChannels, "must be positive") }
        if residualBlocks < 0 { throw fail("residualBlocks", residualBlocks, "must not be negative") }
        if codebookSize <= 0 { throw fail("codebookSize", codebookSize, "must be positive") }
        if codeDim <= 0 { throw fail("codeDim", codeDim, "must be positive") }
        if !(beta >= 0 && beta.isFinite) { throw fail("beta", beta, "must be finite and not negative") }
        if !(emaDecay >= 0 && emaDecay < 1) { throw fail("emaDecay", emaDecay, "must lie in [0, 1)") }
        if !(emaEpsilon > 0 && emaEpsilon.isFinite) { throw fail("emaEpsilon", emaEpsilon, "must be positive") }
        if !(deadCodeThreshold >= 0 && deadCodeThreshold.isFinite) {
            throw fail("deadCodeThreshold", deadCodeThreshold, "must be finite and not negative")
        }
        if restartInterval <= 0 { throw fail("restartInterval", restartInterval, "must be at least 1") }
    }
}

/// An impossible configuration value: which field, its value and why.
package struct VQVAEConfigError: Error, Equatable, CustomStringConvertible {
    package let field: String
    package let value: String
    package let reason: String

    package var description: String { "invalid VQ-VAE configuration: \(field) = \(value) \(reason)" }
}
