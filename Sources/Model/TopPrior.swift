import Numerics

/// The class-conditional gated PixelCNN over the top code map, with causal self-attention every
/// `config.attentionEvery` layers.
package final class TopPrior {
    package let config: PriorConfig
    package let height: Int
    package let width: Int
    let network: GatedPixelCNN
    private let likelihood = PriorLikelihood()

    /// Registers the prior's parameters in `store` under `name`; the caller materialises the store afterwards.
    package init(_ store: ParameterStore, name: String, config: PriorConfig, height: Int, width: Int) {
        do { try config.validate() } catch { preconditionFailure("\(error)") }
        precondition(height > 0 && width > 0, "top prior over a \(height)x\(width) map")
        self.config = config
        self.height = height
        self.width = width
        network = GatedPixelCNN(
            store, name: name, config: config, width: width, attention: true, conditioningChannels: nil)
    }

    /// Logits [N, H, W, K] for codes [N, H, W] and one class label per sample; layer-owned until the next forward.
    package func forward(codes: [Int32], labels: [Int32], batch: Int, dropout: DropoutContext?) -> Tensor {
        network.forward(
            codes: codes, labels: labels, batch: batch, rows: height, conditioning: nil, dropout: dropout)
    }

    /// Whether a training forward keeps of each gated layer only its inputs and outputs, backward recomputing the
    /// rest (GatedPixelCNN.recomputesGatedLayers).
    package var recomputesGatedLayers: Bool {
        get { network.recomputesGatedLayers }
        set { network.recomputesGatedLayers = newValue }
    }

    /// Accumulates the parameter gradients for the gradient of the last forward's logits.
    package func backward(_ dLogits: Tensor) { network.backward(dLogits) }

    /// The NLL of `codes` under the prior without dropout (an evaluation forward: it replaces the last forward).
    package func negativeLogLikelihood(codes: [Int32], labels: [Int32], batch: Int) -> NegativeLogLikelihood {
        likelihood.measure(forward(codes: codes, labels: labels, batch: batch, dropout: nil), codes: codes)
    }
}

/// The NLL of code maps under a prior's logits: the sum in nats over positions, and nats or bits per code.
package final class PriorLikelihood {
    private let crossEntropy = SoftmaxCrossEntropy()

    package init() {}

    /// The summed NLL of `codes` (one per position of `logits` [..., K]); its `natsPerPosition` and
    /// `bitsPerPosition` are the per-code figures.
    package func measure(_ logits: Tensor, codes: [Int32]) -> NegativeLogLikelihood {
        crossEntropy.forward(logits, targets: codes)
    }
}
