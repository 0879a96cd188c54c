import Numerics

/// The bottom prior's view of the top codes: embed them, residual blocks x + 1x1(R(3x3(R(x)))) at the top
/// resolution, then nearest up-sampling x2 to the bottom map, [N, 2H, 2W, Cc].
///
/// The top codes are all known before the bottom map is sampled, so these convolutions need no mask; each gated
/// layer of the bottom prior projects the result into its gates.
final class ConditioningStack {
    let channels: Int
    private let embedding: CodeEmbedding
    private let blocks: [ConditioningBlock]
    private let upsample = NearestUpsample2x()

    init(_ store: ParameterStore, name: String, config: PriorConfig) {
        channels = config.conditioningChannels
        embedding = CodeEmbedding(
            store, name: name + ".embedding", numCodes: config.codebookSize, dimension: config.conditioningChannels)
        blocks = (0..<config.conditioningLayers).map {
            ConditioningBlock(store, name: name + ".block\($0)", channels: config.conditioningChannels)
        }
    }

    /// Conditioning features for top codes [N, H, W]; layer-owned until the next forward.
    func forward(topCodes: [Int32], batch: Int, height: Int, width: Int) -> Tensor {
        var x = embedding.forward(topCodes, shape: [batch, height, width])
        for block in blocks { x = block.forward(x) }
        return upsample.forward(x)
    }

    /// Accumulates the stack's parameter gradients.
    func backward(_ dOutput: Tensor) {
        var d = upsample.backward(dOutput)
        for block in blocks.reversed() { d = block.backward(d) }
        embedding.backward(d)
    }
}

/// x + Conv1x1(R(Conv3x3(R(x)))), all `channels` wide.
final class ConditioningBlock {
    private let firstActivation = Activation(.relu)
    private let convolution: Conv2D
    private let secondActivation = Activation(.relu)
    private let projection: Conv2D
    private let add = ResidualAdd()
    private let gradientSum = ResidualAdd()

    init(_ store: ParameterStore, name: String, channels: Int) {
        convolution = Conv2D(
            store, name: name + ".conv", inChannels: channels, outChannels: channels, kernel: 3, padding: 1)
        projection = Conv2D(store, name: name + ".proj", inChannels: channels, outChannels: channels, kernel: 1)
    }

    /// The convolutions' outputs are released once read: ReLU's backward reads its output and a convolution's
    /// its input, so neither is needed again.
    func forward(_ x: Tensor) -> Tensor {
        let convolved = convolution.forward(firstActivation.forward(x))
        let activated = secondActivation.forward(convolved)
        convolved.release()
        let projected = projection.forward(activated)
        let output = add.forward(x, projected)
        projected.release()
        return output
    }

    func backward(_ dOutput: Tensor) -> Tensor {
        let dBranch = firstActivation.backward(
            convolution.backward(secondActivation.backward(projection.backward(dOutput))))
        return gradientSum.forward(dOutput, dBranch)
    }
}
