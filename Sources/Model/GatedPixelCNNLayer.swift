import Numerics

/// One gated layer of a PixelCNN without blind spot (arXiv 1606.05328, figure 2), with the conditioning added
/// inside both gates.
///
/// v_pre = vconv(v) + class_v + cond_v;   v' = gate(v_pre)
/// h' = h + proj(dropout(gate(hconv(h) + link(v_pre) + class_h + cond_h)))   (no residual in the first layer)
///
/// Both stacks carry C channels (`channels`, the paper's "hidden units"). The horizontal stack's residual branch
/// is R wide (`residualUnits`, the paper's "residual units", as inside the VQ-VAE's residual blocks): hconv, the
/// link, the class and conditioning terms make 2R pre-activations, the gate R, and proj maps R back to C.
///
/// CausalConv2D's vertical stack already sees only rows strictly above (mask A first, mask B after), so the link
/// (a 1x1 convolution of the vertical pre-activations) joins the horizontal stack at the same position with no
/// extra shift. The first layer's horizontal input is the embedding of the current code, so it takes no residual:
/// that would leak the very code the layer predicts. The last layer's vertical output feeds nothing, so that layer
/// has no vertical gate, class term or conditioning projection.
///
/// The class, conditioning and link terms are added in place into the convolutions' outputs (a convolution's
/// backward never reads its output), the projections multiplying straight into them, and their gradients are
/// read from the gates' input gradients, so the pre-activations cost no tensors of their own in forward or
/// backward. The link has no bias: the horizontal convolution's bias already shifts the same pre-activations.
///
/// The first layer reads the codes themselves in training and evaluation: its two convolutions of the embedding
/// run as EmbeddedConvolution on the same parameters (table lookups, no embedded input), and the embedding's
/// gradient arrives straight in the table's. Sampling runs the CausalConv2D weights one row or position at a time
/// (`finishRow`, `finishPosition`, IncrementalSampler).
final class GatedPixelCNNLayer {
    let isFirst: Bool
    let verticalConvolution: CausalConv2D
    let horizontalConvolution: CausalConv2D
    /// The first layer's vertical and horizontal convolutions of the embedded codes.
    private let codeConvolutions: (vertical: EmbeddedConvolution, horizontal: EmbeddedConvolution)?
    private let link: AccumulatingProjection
    /// Class tables [classes, 2C] (vertical) and [classes, 2R] (horizontal) added to the pre-activations (the
    /// layout of Numerics' ClassEmbedding).
    private let verticalClass: Parameter?
    private let horizontalClass: Parameter
    private let verticalConditioning: AccumulatingProjection?
    private let horizontalConditioning: AccumulatingProjection?
    private let verticalGate = GatedActivation()
    private let horizontalGate = GatedActivation()
    private let dropout: Dropout
    private let projection: Linear
    private let residual = ResidualAdd()
    private let store: ParameterStore
    private var labels: [Int32] = []
    /// The last forward's inputs, for `recomputeForward`.
    private var lastInput: Input?
    /// The last forward's vertical pre-activations (the vertical convolution's output), which the link's backward
    /// reads.
    private var lastVerticalPre: Tensor?
    private var lastConditioning: Tensor?
    private var lastDropout: DropoutContext?

    /// What a forward reads: the codes (the first layer) or the previous layer's two streams.
    private enum Input {
        case codes([Int32], shape: [Int])
        case streams(vertical: Tensor, horizontal: Tensor)
    }

    /// `embedding` is the code embedding the first layer (index 0) reads, nil for every other layer.
    init(
        _ store: ParameterStore, name: String, config: PriorConfig, index: Int, embedding: CodeEmbedding?,
        conditioningChannels: Int?
    ) {
        precondition((index == 0) == (embedding != nil), "only the first layer reads the code embedding")
        self.store = store
        let c = config.channels, r = config.residualUnits
        isFirst = index == 0
        let hasVerticalOutput = index < config.layers - 1
        let mask: CausalConv2D.Mask = isFirst ? .a : .b
        let kernel = isFirst ? config.firstKernel : config.kernel
        verticalConvolution = CausalConv2D(
            store, name: name + ".vconv", stack: .vertical, mask: mask, kernel: kernel, inChannels: c,
            outChannels: 2 * c)
        horizontalConvolution = CausalConv2D(
            store, name: name + ".hconv", stack: .horizontal, mask: mask, kernel: kernel, inChannels: c,
            outChannels: 2 * r)
        if let embedding {
            codeConvolutions = (
                EmbeddedConvolution(store, embedding: embedding, convolution: verticalConvolution.convolution),
                EmbeddedConvolution(store, embedding: embedding, convolution: horizontalConvolution.convolution))
        } else {
            codeConvolutions = nil
        }
        link = AccumulatingProjection(store, name: name + ".link", inFeatures: 2 * c, outFeatures: 2 * r)
        verticalClass = hasVerticalOutput
            ? store.register(name + ".vclass.weight", shape: [config.classes, 2 * c], initializer: .normal(std: 1))
            : nil
        horizontalClass = store.register(
            name + ".hclass.weight", shape: [config.classes, 2 * r], initializer: .normal(std: 1))
        if let conditioningChannels {
            verticalConditioning = hasVerticalOutput
                ? AccumulatingProjection(
                    store, name: name + ".vcond", inFeatures: conditioningChannels, outFeatures: 2 * c)
                : nil
            horizontalConditioning = AccumulatingProjection(
                store, name: name + ".hcond", inFeatures: conditioningChannels, outFeatures: 2 * r)
        } else {
            verticalConditioning = nil
            horizontalConditioning = nil
        }
        dropout = Dropout(probability: config.dropout, layerId: stableHash(name + ".dropout"))
        projection = Linear(store, name: name + ".proj", inFeatures: r, outFeatures: c)
    }

    /// The layer's outputs (v' is nil for the last layer); layer-owned until the next forward.
    func forward(
        vertical v: Tensor, horizontal h: Tensor, labels: [Int32], conditioning: Tensor?,
        dropout context: DropoutContext?
    ) -> (vertical: Tensor?, horizontal: Tensor) {
        precondition(!isFirst, "the first layer reads codes")
        lastInput = .streams(vertical: v, horizontal: h)
        return forward(
            verticalPre: verticalConvolution.forward(v), horizontalPre: { self.horizontalConvolution.forward(h) },
            residual: h, labels: labels, conditioning: conditioning, dropout: context)
    }

    /// The first layer's outputs for codes [N, H, W] (`shape`); layer-owned until the next forward.
    func forward(
        codes: [Int32], shape: [Int], labels: [Int32], conditioning: Tensor?, dropout context: DropoutContext?
    ) -> (vertical: Tensor?, horizontal: Tensor) {
        guard let codeConvolutions else { preconditionFailure("only the first layer reads codes") }
        lastInput = .codes(codes, shape: shape)
        return forward(
            verticalPre: codeConvolutions.vertical.forward(codes, shape: shape),
            horizontalPre: { codeConvolutions.horizontal.forward(codes, shape: shape) }, residual: nil,
            labels: labels, conditioning: conditioning, dropout: context)
    }

    /// Both stacks from the convolutions' outputs; `horizontalPre` runs after the vertical gate, so that its output
    /// is not live through it.
    private func forward(
        verticalPre: Tensor, horizontalPre: () -> Tensor, residual h: Tensor?, labels: [Int32],
        conditioning: Tensor?, dropout context: DropoutContext?
    ) -> (vertical: Tensor?, horizontal: Tensor) {
        self.labels.removeAll(keepingCapacity: true)
        self.labels.append(contentsOf: labels)
        let vertical = finishVertical(verticalPre, labels: labels, conditioning: conditioning)
        lastVerticalPre = vertical.pre
        lastConditioning = conditioning
        lastDropout = context
        let horizontalPre = horizontalPre()
        addHorizontalBias(verticalPre: vertical.pre, labels: labels, conditioning: conditioning, into: horizontalPre)
        return (vertical.output, finishHorizontal(horizontalPre, residual: h, dropout: context))
    }

    // MARK: Recomputation: a backward after the activations were handed back

    /// Hands back every activation backward reads except the layer's inputs and outputs: the vertical
    /// pre-activations, both gates' tanh and sigmoid, and dropout's mask and output. A gated layer then holds
    /// only its two output streams until `recomputeForward`.
    func releaseActivations() {
        lastVerticalPre?.release()
        verticalGate.releaseSaved()
        horizontalGate.releaseSaved()
        dropout.releaseSaved()
    }

    /// Hands back the layer's outputs (v', and h' or the first layer's projection) once the layers after it have
    /// read them for the last time, in backward.
    func releaseOutputs() {
        verticalGate.output.release()
        residual.output.release()
        projection.output.release()
    }

    /// Runs the last training forward again on the same inputs, which must not have changed since, so that
    /// backward reads bit for bit the activations that forward made (dropout draws the same mask from its
    /// counter-based stream).
    func recomputeForward() {
        guard let lastInput else { preconditionFailure("recomputeForward before any forward") }
        let labels = self.labels, conditioning = lastConditioning, context = lastDropout
        switch lastInput {
        case .codes(let codes, let shape):
            _ = forward(codes: codes, shape: shape, labels: labels, conditioning: conditioning, dropout: context)
        case .streams(let v, let h):
            _ = forward(vertical: v, horizontal: h, labels: labels, conditioning: conditioning, dropout: context)
        }
    }

    /// v_pre += class_v + cond_v in place, and v' (nil for the last layer).
    func finishVertical(
        _ verticalPre: Tensor, labels: [Int32], conditioning: Tensor?
    ) -> (pre: Tensor, output: Tensor?) {
        guard let verticalClass else { return (verticalPre, nil) }
        ClassBias.add(store.value(verticalClass), labels: labels, into: verticalPre)
        if let conditioning, let verticalConditioning {
            verticalConditioning.forward(conditioning, addingTo: verticalPre)
        }
        return (verticalPre, verticalGate.forward(verticalPre))
    }

    /// target += link(v_pre) + class_h + cond_h: every term of the horizontal pre-activation that does not
    /// depend on the horizontal stream.
    private func addHorizontalBias(verticalPre: Tensor, labels: [Int32], conditioning: Tensor?, into target: Tensor) {
        link.forward(verticalPre, addingTo: target)
        ClassBias.add(store.value(horizontalClass), labels: labels, into: target)
        if let conditioning, let horizontalConditioning {
            horizontalConditioning.forward(conditioning, addingTo: target)
        }
    }

    // MARK: Sampling, a row and a position at a time

    /// Sampling, once per row: finishes `verticalPre` (the vertical convolution's output row [N, 1, W, 2C]) in
    /// place with the class and conditioning terms (`conditioningRow` [N, 1, W, Cc]), writes the row's
    /// horizontal bias link(v_pre) + class_h + cond_h ([N, 1, W, 2R]) into `bias`, and returns the row's v' (nil for the last
    /// layer), owned by the layer until its next row.
    func finishRow(verticalPre: Tensor, labels: [Int32], conditioningRow: Tensor?, bias: Tensor) -> Tensor? {
        let vertical = finishVertical(verticalPre, labels: labels, conditioning: conditioningRow)
        writeHorizontalBias(verticalPre: vertical.pre, labels: labels, conditioning: conditioningRow, into: bias)
        return vertical.output
    }

    /// bias = link(v_pre) + class_h + cond_h, [N, H, W, 2R] from v_pre [N, H, W, 2C]: what a sampler adds to the
    /// horizontal convolution's output a position at a time.
    func writeHorizontalBias(verticalPre: Tensor, labels: [Int32], conditioning: Tensor?, into bias: Tensor) {
        bias.resize([verticalPre.n, verticalPre.h, verticalPre.w, horizontalConvolution.convolution.outChannels])
        bias.zero()
        addHorizontalBias(verticalPre: verticalPre, labels: labels, conditioning: conditioning, into: bias)
    }

    /// Sampling, once per position: h' [N, 1, 1, C] from `horizontalPre` (the horizontal convolution's output
    /// there, [N, 1, 1, 2R], completed in place with column `column` of the row's `bias`) and the layer's input
    /// there (`residual`, ignored by the first layer). Evaluation mode; owned by the layer until its next call.
    func finishPosition(horizontalPre: Tensor, bias: Tensor, column: Int, residual: Tensor) -> Tensor {
        let batch = horizontalPre.n, width = bias.w, channels = horizontalPre.c
        for n in 0..<batch {
            let pre = horizontalPre.data + n * channels, b = bias.data + (n * width + column) * channels
            for j in 0..<channels { pre[j] += b[j] }
        }
        return finishHorizontal(horizontalPre, residual: isFirst ? nil : residual, dropout: nil)
    }

    /// h + proj(dropout(gate(pre))), without the residual h (nil) in the first layer.
    ///
    /// Backward reads none of pre, the gate's output and the projection's output (the gate keeps its own tanh
    /// and sigmoid, dropout its mask), so each is released (`Tensor.release`) once the next step has read it.
    func finishHorizontal(_ pre: Tensor, residual h: Tensor?, dropout context: DropoutContext?) -> Tensor {
        let gated = horizontalGate.forward(pre)
        pre.release()
        let dropped = dropout.forward(
            gated, seed: context?.seed ?? 0, step: context?.step ?? 0, firstSample: context?.firstSample ?? 0,
            training: context != nil)
        gated.release()
        let projected = projection.forward(dropped)
        guard let h else { return projected }
        let output = residual.forward(h, projected)
        projected.release()
        return output
    }

    /// The gradients of the layer's inputs (layer-owned) from those of its outputs (dv' nil when v' has none);
    /// parameter gradients are accumulated, and so is the conditioning's gradient into `conditioningGradient`.
    /// The first layer's inputs are codes: it returns nil, its input gradient accumulated into the embedding's.
    /// Each intermediate gradient is released once read (`Tensor.release`).
    func backward(
        vertical dVerticalOutput: Tensor?, horizontal dOutput: Tensor, conditioningGradient: Tensor?
    ) -> (vertical: Tensor, horizontal: Tensor)? {
        let dGated = projection.backward(dOutput)
        let dDropped = dropout.backward(dGated)
        dGated.release()
        let dHorizontalPre = horizontalGate.backward(dDropped)
        dDropped.release()
        ClassBias.accumulateGradient(dHorizontalPre, labels: labels, into: store.gradient(horizontalClass))
        if let conditioningGradient, let horizontalConditioning {
            horizontalConditioning.backward(dHorizontalPre, addingInputGradientTo: conditioningGradient)
        }
        let dVerticalPre = link.backward(dHorizontalPre)
        if let codeConvolutions {
            codeConvolutions.horizontal.backward(dHorizontalPre)
            dHorizontalPre.release()
            accumulateVerticalGradient(dVerticalOutput, into: dVerticalPre, conditioningGradient: conditioningGradient)
            codeConvolutions.vertical.backward(dVerticalPre)
            dVerticalPre.release()
            return nil
        }
        let dHorizontal = horizontalConvolution.backward(dHorizontalPre)
        dHorizontalPre.release()
        ResidualAdd.accumulate(dOutput, into: dHorizontal)
        accumulateVerticalGradient(dVerticalOutput, into: dVerticalPre, conditioningGradient: conditioningGradient)
        let dVertical = verticalConvolution.backward(dVerticalPre)
        dVerticalPre.release()
        return (dVertical, dHorizontal)
    }

    /// dv_pre += the vertical gate's input gradient, then the class and conditioning gradients it carries.
    private func accumulateVerticalGradient(
        _ dVerticalOutput: Tensor?, into dVerticalPre: Tensor, conditioningGradient: Tensor?
    ) {
        guard let dVerticalOutput, let verticalClass else { return }
        let dGate = verticalGate.backward(dVerticalOutput)
        ResidualAdd.accumulate(dGate, into: dVerticalPre)
        dGate.release()
        ClassBias.accumulateGradient(dVerticalPre, labels: labels, into: store.gradient(verticalClass))
        if let conditioningGradient, let verticalConditioning {
            verticalConditioning.backward(dVerticalPre, addingInputGradientTo: conditioningGradient)
        }
    }
}

/// A class table's row per sample added at every position of an NHWC map, in place, and its adjoint.
enum ClassBias {
    /// x[n, ..., :] += table[labels[n], :].
    static func add(_ table: UnsafePointer<Float>, labels: [Int32], into x: Tensor) {
        let c = x.c, positions = x.count / (labels.count * c), data = x.data
        labels.withUnsafeBufferPointer { labels in
            ThreadPool.shared.forEachRange(count: labels.count * positions, grain: max(1, 16_384 / c)) { rows, _ in
                for r in rows {
                    let row = table + Int(labels[r / positions]) * c, out = data + r * c
                    for j in 0..<c { out[j] += row[j] }
                }
            }
        }
    }

    /// dTable[labels[n], :] += sum over positions of dx[n, ..., :]. Split over channels, each summed over
    /// images and positions in order as on one thread.
    static func accumulateGradient(_ dx: Tensor, labels: [Int32], into dTable: UnsafeMutablePointer<Float>) {
        let c = dx.c, positions = dx.count / (labels.count * c), data = dx.data
        labels.withUnsafeBufferPointer { labels in
            ThreadPool.shared.forEachRange(count: c, grain: 16) { channels, _ in
                for (n, label) in labels.enumerated() {
                    let row = dTable + Int(label) * c
                    for p in 0..<positions {
                        let d = data + (n * positions + p) * c
                        for j in channels { row[j] += d[j] }
                    }
                }
            }
        }
    }
}

/// FNV-1a of a name: a dropout layer id that is the same in every process (String.hashValue is seeded per run).
func stableHash(_ name: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
    return hash
}
