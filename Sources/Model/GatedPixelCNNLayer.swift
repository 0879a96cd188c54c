import Numerics

/// One gated layer of a PixelCNN without blind spot (arXiv 1606.05328, figure 2), with the conditioning added
/// inside both gates.
///
/// v' = gate(vconv(v) + class_v + cond_v)
/// h' = h + proj(dropout(gate(hconv(h) + link(vconv(v)) + class_h + cond_h)))   (no residual in the first layer)
///
/// CausalConv2D's vertical stack already sees only rows strictly above (mask A first, mask B after), so the link
/// (a 1x1 convolution of the vertical pre-activations) joins the horizontal stack at the same position with no
/// extra shift. The first layer's horizontal input is the embedding of the current code, so it takes no residual:
/// that would leak the very code the layer predicts. The last layer's vertical output feeds nothing, so that layer
/// has no vertical gate, class term or conditioning projection.
final class GatedPixelCNNLayer {
    let channels: Int
    let isFirst: Bool
    let hasVerticalOutput: Bool
    private let verticalConvolution: CausalConv2D
    private let horizontalConvolution: CausalConv2D
    private let link: Linear
    private let verticalClass: ClassEmbedding?
    private let horizontalClass: ClassEmbedding
    private let verticalConditioning: Linear?
    private let horizontalConditioning: Linear?
    private let verticalConditioningAdd = ResidualAdd()
    private let horizontalLinkAdd = ResidualAdd()
    private let horizontalConditioningAdd = ResidualAdd()
    private let verticalGate = GatedActivation()
    private let horizontalGate = GatedActivation()
    private let dropout: Dropout
    private let projection: Linear
    private let residual = ResidualAdd()
    /// The sum of the conditioning gradients of both stacks (bottom prior only).
    let conditioningGradient = Tensor(shape: [0])

    init(
        _ store: ParameterStore, name: String, config: PriorConfig, index: Int, conditioningChannels: Int?
    ) {
        let c = config.channels
        channels = c
        isFirst = index == 0
        hasVerticalOutput = index < config.layers - 1
        let mask: CausalConv2D.Mask = isFirst ? .a : .b
        let kernel = isFirst ? config.firstKernel : config.kernel
        verticalConvolution = CausalConv2D(
            store, name: name + ".vconv", stack: .vertical, mask: mask, kernel: kernel, inChannels: c,
            outChannels: 2 * c)
        horizontalConvolution = CausalConv2D(
            store, name: name + ".hconv", stack: .horizontal, mask: mask, kernel: kernel, inChannels: c,
            outChannels: 2 * c)
        link = Linear(store, name: name + ".link", inFeatures: 2 * c, outFeatures: 2 * c)
        verticalClass = hasVerticalOutput
            ? ClassEmbedding(store, name: name + ".vclass", numClasses: config.classes, channels: 2 * c) : nil
        horizontalClass = ClassEmbedding(store, name: name + ".hclass", numClasses: config.classes, channels: 2 * c)
        if let conditioningChannels {
            // No bias: the convolutions' biases already shift the same pre-activations.
            verticalConditioning = hasVerticalOutput
                ? Linear(store, name: name + ".vcond", inFeatures: conditioningChannels, outFeatures: 2 * c, bias: false)
                : nil
            horizontalConditioning = Linear(
                store, name: name + ".hcond", inFeatures: conditioningChannels, outFeatures: 2 * c, bias: false)
        } else {
            verticalConditioning = nil
            horizontalConditioning = nil
        }
        dropout = Dropout(probability: config.dropout, layerId: stableHash(name + ".dropout"))
        projection = Linear(store, name: name + ".proj", inFeatures: c, outFeatures: c)
    }

    /// The layer's outputs (v' is nil for the last layer); layer-owned until the next forward.
    func forward(
        vertical v: Tensor, horizontal h: Tensor, labels: [Int32], conditioning: Tensor?, dropout context: DropoutContext?
    ) -> (vertical: Tensor?, horizontal: Tensor) {
        let verticalFeatures = verticalConvolution.forward(v)
        var verticalOutput: Tensor? = nil
        if hasVerticalOutput, let verticalClass {
            var pre = verticalClass.forward(verticalFeatures, labels: labels)
            if let conditioning, let verticalConditioning {
                pre = verticalConditioningAdd.forward(pre, verticalConditioning.forward(conditioning))
            }
            verticalOutput = verticalGate.forward(pre)
        }
        let linked = horizontalLinkAdd.forward(horizontalConvolution.forward(h), link.forward(verticalFeatures))
        var pre = horizontalClass.forward(linked, labels: labels)
        if let conditioning, let horizontalConditioning {
            pre = horizontalConditioningAdd.forward(pre, horizontalConditioning.forward(conditioning))
        }
        let gated = dropout.forward(
            horizontalGate.forward(pre), seed: context?.seed ?? 0, step: context?.step ?? 0,
            firstSample: context?.firstSample ?? 0, training: context != nil)
        let projected = projection.forward(gated)
        return (verticalOutput, isFirst ? projected : residual.forward(h, projected))
    }

    /// The gradients of the layer's inputs (layer-owned) from those of its outputs (dv' nil when v' has none);
    /// parameter gradients are accumulated, and the conditioning gradient is left in `conditioningGradient`.
    func backward(vertical dVerticalOutput: Tensor?, horizontal dOutput: Tensor) -> (vertical: Tensor, horizontal: Tensor) {
        let dPre = horizontalGate.backward(dropout.backward(projection.backward(dOutput)))
        if let horizontalConditioning { conditioningGradient.copy(from: horizontalConditioning.backward(dPre)) }
        let dLinked = horizontalClass.backward(dPre)
        let dVerticalFeatures = link.backward(dLinked)
        let dHorizontal = horizontalConvolution.backward(dLinked)
        if !isFirst { ResidualAdd.accumulate(dOutput, into: dHorizontal) }
        if let dVerticalOutput, let verticalClass {
            let dVerticalPre = verticalGate.backward(dVerticalOutput)
            if let verticalConditioning {
                ResidualAdd.accumulate(verticalConditioning.backward(dVerticalPre), into: conditioningGradient)
            }
            ResidualAdd.accumulate(verticalClass.backward(dVerticalPre), into: dVerticalFeatures)
        }
        return (verticalConvolution.backward(dVerticalFeatures), dHorizontal)
    }
}

/// FNV-1a of a name: a dropout layer id that is the same in every process (String.hashValue is seeded per run).
func stableHash(_ name: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
    return hash
}
