import Numerics

/// The gated PixelCNN over the bottom code map, conditioned on the class and on the top codes through a
/// conditioning stack whose output every gated layer projects into both of its gates; no attention.
package final class BottomPrior {
    package let config: PriorConfig
    package let height: Int
    package let width: Int
    let network: GatedPixelCNN
    let conditioning: ConditioningStack
    private let likelihood = PriorLikelihood()

    /// `height` and `width` are the bottom map's; the top map is half as high and wide.
    package init(_ store: ParameterStore, name: String, config: PriorConfig, height: Int, width: Int) {
        do { try config.validate() } catch { preconditionFailure("\(error)") }
        precondition(height > 0 && width > 0 && height % 2 == 0 && width % 2 == 0,
                     "bottom prior over a \(height)x\(width) map: both extents must be even")
        self.config = config
        self.height = height
        self.width = width
        conditioning = ConditioningStack(store, name: name + ".conditioning", config: config)
        network = GatedPixelCNN(
            store, name: name, config: config, width: width, attention: false,
            conditioningChannels: config.conditioningChannels)
    }

    /// Conditioning features [N, H, W, Cc] for top codes [N, H/2, W/2].
    func conditioningFeatures(topCodes: [Int32], batch: Int) -> Tensor {
        conditioning.forward(topCodes: topCodes, batch: batch, height: height / 2, width: width / 2)
    }

    /// Logits [N, H, W, K] for bottom codes [N, H, W], top codes [N, H/2, W/2] and one class label per sample;
    /// layer-owned until the next forward.
    package func forward(
        codes: [Int32], topCodes: [Int32], labels: [Int32], batch: Int, dropout: DropoutContext?
    ) -> Tensor {
        network.forward(
            codes: codes, labels: labels, batch: batch, rows: height,
            conditioning: conditioningFeatures(topCodes: topCodes, batch: batch), dropout: dropout)
    }

    /// Whether a training forward keeps of each gated layer only its inputs and outputs, backward recomputing the
    /// rest (GatedPixelCNN.recomputesGatedLayers).
    package var recomputesGatedLayers: Bool {
        get { network.recomputesGatedLayers }
        set { network.recomputesGatedLayers = newValue }
    }

    /// Accumulates the parameter gradients (conditioning stack included) for the last forward's logits.
    package func backward(_ dLogits: Tensor) {
        network.backward(dLogits)
        conditioning.backward(network.conditioningGradient)
    }

    /// The NLL of `codes` given `topCodes` without dropout (an evaluation forward: it replaces the last forward).
    package func negativeLogLikelihood(
        codes: [Int32], topCodes: [Int32], labels: [Int32], batch: Int
    ) -> NegativeLogLikelihood {
        likelihood.measure(
            forward(codes: codes, topCodes: topCodes, labels: labels, batch: batch, dropout: nil), codes: codes)
    }
}
