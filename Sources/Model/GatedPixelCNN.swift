import Numerics

/// The network both priors share: code embedding, gated layers (with causal self-attention on the horizontal
/// stream every `attentionEvery` layers), then the 1x1 output stack to K logits per position. The first gated
/// layer reads the embedding through table lookups of the codes (EmbeddedConvolution), except when sampling.
///
/// Causality: after the first layer the horizontal stream at position p depends only on codes before p (raster
/// order), and the vertical stream at row r only on rows above r, so attention may let position p see p itself
/// (non-strict) and still see no code at or after p.
///
/// `forward` accepts any number of rows up to the map height: the network is causal in rows, so the logits of
/// the first r rows computed on an r-row map equal those of the full map. Sampling does not run `forward`: it
/// computes each layer's output once per position from these same layers (IncrementalSampler); only the
/// benchmark's baseline (RecomputingSampler) relies on row-limited forwards.
final class GatedPixelCNN {
    let config: PriorConfig
    let width: Int
    let embedding: CodeEmbedding
    let layers: [GatedPixelCNNLayer]
    /// The attention block after layer l, if any.
    let attention: [AttentionBlock?]
    let outputActivations: [Activation]
    let outputLayers: [Linear]
    /// The gradient of the conditioning features of the last backward (bottom prior only).
    let conditioningGradient = Tensor(shape: [0])
    private var hasConditioning = false
    /// Whether forward keeps of each gated layer only its inputs and outputs, backward running the layer's forward
    /// again just before its backward, and backward hands back every activation once it is done (so that a joint
    /// step's next model has the memory): less activation memory for one more forward of the gated layers, with
    /// the same bits (GatedPixelCNNLayer.recomputeForward).
    var recomputesGatedLayers = false

    init(_ store: ParameterStore, name: String, config: PriorConfig, width: Int, attention useAttention: Bool,
         conditioningChannels: Int?) {
        self.config = config
        self.width = width
        let c = config.channels
        embedding = CodeEmbedding(store, name: name + ".embedding", numCodes: config.codebookSize, dimension: c)
        var layers: [GatedPixelCNNLayer] = []
        var attention: [AttentionBlock?] = []
        for l in 0..<config.layers {
            layers.append(GatedPixelCNNLayer(
                store, name: name + ".layer\(l)", config: config, index: l, embedding: l == 0 ? embedding : nil,
                conditioningChannels: conditioningChannels))
            let attends = useAttention && config.attentionEvery > 0 && (l + 1) % config.attentionEvery == 0
            attention.append(attends
                ? AttentionBlock(store, name: name + ".attention\(l)", channels: c, heads: config.heads) : nil)
        }
        self.layers = layers
        self.attention = attention
        outputActivations = (0..<config.outputLayers).map { _ in Activation(.relu) }
        outputLayers = (0..<config.outputLayers).map { i in
            Linear(store, name: name + ".output\(i)", inFeatures: c,
                   outFeatures: i == config.outputLayers - 1 ? config.codebookSize : c)
        }
    }

    /// Logits [N, rows, W, K] for codes [N, rows, W]; `conditioning` is [N, rows, W, Cc] when the network has
    /// conditioning projections. The result is layer-owned until the next forward.
    func forward(
        codes: [Int32], labels: [Int32], batch: Int, rows: Int, conditioning: Tensor?, dropout: DropoutContext?
    ) -> Tensor {
        checkInputs(labels: labels, batch: batch, rows: rows, conditioning: conditioning)
        hasConditioning = conditioning != nil
        if let conditioning { conditioningGradient.resize(conditioning.shape) }
        var (v, h) = layers[0].forward(
            codes: codes, shape: [batch, rows, width], labels: labels, conditioning: conditioning, dropout: dropout)
        for (l, layer) in layers.enumerated() {
            if l > 0 {
                guard let vertical = v else { preconditionFailure("a layer after the last vertical output") }
                (v, h) = layer.forward(
                    vertical: vertical, horizontal: h, labels: labels, conditioning: conditioning, dropout: dropout)
            }
            if recomputesGatedLayers { layer.releaseActivations() }
            if let block = attention[l] { h = block.forward(h) }
        }
        for (activation, linear) in zip(outputActivations, outputLayers) {
            let activated = activation.forward(h)
            // ReLU's backward reads its output and a product's its input: the stack's inputs are not read again.
            h.release()
            h = linear.forward(activated)
        }
        return h
    }

    private func checkInputs(labels: [Int32], batch: Int, rows: Int, conditioning: Tensor?) {
        precondition(batch > 0 && labels.count == batch, "\(labels.count) labels for a batch of \(batch)")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < config.classes }, "labels outside 0..<\(config.classes)")
        if let conditioning {
            precondition(conditioning.shape.dropLast() == [batch, rows, width],
                         "conditioning \(conditioning.shape) for codes [\(batch), \(rows), \(width)]")
        }
    }

    /// Accumulates every parameter gradient for `dLogits`; the conditioning gradient lands in
    /// `conditioningGradient`.
    func backward(_ dLogits: Tensor) {
        defer { if recomputesGatedLayers { releaseActivations() } }
        var d = dLogits
        for (activation, linear) in zip(outputActivations, outputLayers).reversed() {
            d = activation.backward(linear.backward(d))
        }
        var dVertical: Tensor? = nil
        if hasConditioning { conditioningGradient.zero() }
        // Every gradient is released once the layer below has read it (`Tensor.release`).
        for l in layers.indices.reversed() {
            if let block = attention[l] {
                let dAttention = block.backward(d)
                d.release()
                d = dAttention
            }
            if recomputesGatedLayers { layers[l].recomputeForward() }
            let gradients = layers[l].backward(
                vertical: dVertical, horizontal: d, conditioningGradient: hasConditioning ? conditioningGradient : nil)
            if recomputesGatedLayers { layers[l].releaseActivations() }
            dVertical?.release()
            d.release()
            // The first layer reads codes: its embedding gradient is already in the table's.
            guard let gradients else { return }
            dVertical = gradients.vertical
            d = gradients.horizontal
        }
    }
}

extension GatedPixelCNN {
    /// Hands back what the last forward kept and backward has read: every layer's outputs, the attention blocks'
    /// activations and the output stack's.
    private func releaseActivations() {
        for layer in layers { layer.releaseOutputs() }
        for block in attention { block?.releaseActivations() }
        for (activation, linear) in zip(outputActivations, outputLayers) {
            activation.output.release()
            linear.output.release()
        }
    }
}

/// h + attention(h), with the attention causal in raster order (position p sees positions <= p).
final class AttentionBlock {
    private let attention: CausalSelfAttention
    private let add = ResidualAdd()
    private let gradientSum = ResidualAdd()

    init(_ store: ParameterStore, name: String, channels: Int, heads: Int) {
        attention = CausalSelfAttention(store, name: name, channels: channels, heads: heads)
    }

    func forward(_ h: Tensor) -> Tensor { add.forward(h, attention.forward(h)) }

    func backward(_ dOutput: Tensor) -> Tensor { gradientSum.forward(dOutput, attention.backward(dOutput)) }

    /// Hands back the last forward's activations and the last backward's input gradient, once both have been read.
    func releaseActivations() {
        attention.releaseActivations()
        add.output.release()
        gradientSum.output.release()
    }

    /// Sampling: h + attention(h) at the next position of `cache` for h [N, 1, 1, C] there.
    func forwardStep(_ h: Tensor, cache: AttentionCache) -> Tensor { add.forward(h, attention.forwardStep(h, cache: cache)) }

    /// Channels of the attended stream.
    var channels: Int { attention.channels }
}
