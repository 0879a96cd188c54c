/// A configuration value that cannot build a prior, naming the field at fault.
package struct PriorConfigError: Error, CustomStringConvertible, Equatable {
    package let field: String
    package let reason: String

    package init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    package var description: String { "prior config: \(field) \(reason)" }
}

/// The shape of a gated PixelCNN prior (top or bottom); fields the top prior does not use (conditioning) and the
/// bottom prior does not use (attention) are ignored there.
package struct PriorConfig: Sendable, Equatable {
    /// K: the number of codes, and so the width of the softmax at every position.
    package var codebookSize: Int
    package var classes: Int
    /// Feature channels of both stacks (the paper's "hidden units"); each gate sees twice as many pre-activations.
    package var channels: Int
    /// Width of the horizontal stack's residual branch (the paper's "residual units"): the horizontal gate has
    /// this many outputs, which the layer's projection maps back to `channels`.
    package var residualUnits: Int
    /// Gated layers; the first uses mask A with `firstKernel`, the others mask B with `kernel`.
    package var layers: Int
    package var firstKernel: Int
    package var kernel: Int
    /// Causal self-attention on the horizontal stream after every this many gated layers (0: none).
    package var attentionEvery: Int
    package var heads: Int
    package var dropout: Float
    /// 1x1 layers after the gated stack, the last of which produces the K logits (ReLU before each).
    package var outputLayers: Int
    /// Residual blocks of the bottom prior's conditioning stack over the top codes.
    package var conditioningLayers: Int
    package var conditioningChannels: Int

    package init(
        codebookSize: Int = 512, classes: Int = 1000, channels: Int = 512, residualUnits: Int? = nil,
        layers: Int = 20, firstKernel: Int = 5,
        kernel: Int = 5, attentionEvery: Int = 0, heads: Int = 8, dropout: Float = 0.1, outputLayers: Int = 20,
        conditioningLayers: Int = 20, conditioningChannels: Int = 512
    ) {
        self.codebookSize = codebookSize
        self.classes = classes
        self.channels = channels
        self.residualUnits = residualUnits ?? channels
        self.layers = layers
        self.firstKernel = firstKernel
        self.kernel = kernel
        self.attentionEvery = attentionEvery
        self.heads = heads
        self.dropout = dropout
        self.outputLayers = outputLayers
        self.conditioningLayers = conditioningLayers
        self.conditioningChannels = conditioningChannels
    }

    /// The paper's ImageNet top prior as this project recalls its appendix (docs/MODEL.md): 20 layers of 512
    /// hidden units with residual branches 2048 wide, filter 5, attention every 5 layers with 8 heads, 20 output
    /// layers.
    package static let paperTop = PriorConfig(residualUnits: 2048, attentionEvery: 5, conditioningLayers: 0)

    /// The paper's ImageNet bottom prior: 20 layers of 512 with residual branches 1024 wide, no attention, a
    /// conditioning stack of 20 blocks.
    package static let paperBottom = PriorConfig(residualUnits: 1024)

    /// The benchmark prior (docs/PERFORMANCE.md), for both levels: 10 gated layers of 128 channels, first kernel 7
    /// then 3, 10 classes, K = 512; no attention (a top prior opts in by setting `attentionEvery`).
    package static let small = PriorConfig(
        codebookSize: 512, classes: 10, channels: 128, layers: 10, firstKernel: 7, kernel: 3, attentionEvery: 0,
        heads: 4, dropout: 0.1, outputLayers: 2, conditioningLayers: 2, conditioningChannels: 128)

    /// Throws for the first field that cannot build a prior.
    package func validate() throws {
        func fail(_ field: String, _ reason: String) -> PriorConfigError {
            PriorConfigError(field: field, reason: reason)
        }
        if codebookSize < 2 { throw fail("codebookSize", "must be at least 2, got \(codebookSize)") }
        if classes < 1 { throw fail("classes", "must be at least 1, got \(classes)") }
        if channels < 1 { throw fail("channels", "must be at least 1, got \(channels)") }
        if residualUnits < 1 { throw fail("residualUnits", "must be at least 1, got \(residualUnits)") }
        if layers < 1 { throw fail("layers", "must be at least 1, got \(layers)") }
        if firstKernel < 3 || firstKernel % 2 == 0 {
            throw fail("firstKernel", "must be odd and at least 3 (mask A needs a row above), got \(firstKernel)")
        }
        if kernel < 1 || kernel % 2 == 0 { throw fail("kernel", "must be odd and positive, got \(kernel)") }
        if attentionEvery < 0 { throw fail("attentionEvery", "must be 0 (none) or positive, got \(attentionEvery)") }
        if heads < 1 { throw fail("heads", "must be at least 1, got \(heads)") }
        if channels % heads != 0 { throw fail("heads", "(\(heads)) must divide channels (\(channels))") }
        if !(dropout >= 0 && dropout < 1) { throw fail("dropout", "must lie in [0, 1), got \(dropout)") }
        if outputLayers < 1 { throw fail("outputLayers", "must be at least 1, got \(outputLayers)") }
        if conditioningLayers < 0 {
            throw fail("conditioningLayers", "must not be negative, got \(conditioningLayers)")
        }
        if conditioningChannels < 1 {
            throw fail("conditioningChannels", "must be at least 1, got \(conditioningChannels)")
        }
    }
}

/// Where a training forward draws its dropout masks; nil in its place means evaluation (no dropout).
package struct DropoutContext: Sendable {
    package var seed: UInt64
    package var step: Int
    /// The global index of this rank's first sample in the global batch.
    package var firstSample: Int

    package init(seed: UInt64, step: Int, firstSample: Int) {
        self.seed = seed
        self.step = step
        self.firstSample = firstSample
    }
}
