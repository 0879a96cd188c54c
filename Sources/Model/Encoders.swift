import Numerics

/// The VQ-VAE-2 encoders: stride 4 (the bottom level, on images) or stride 2 (the top level, on the bottom
/// encoder's output), each ending in a residual stack and a ReLU.
///
/// Stride 4: Conv k4 s2 p1 (in->C/2), R, Conv k4 s2 p1 (C/2->C), R, Conv k3 p1 (C->C), ResBlocks, R.
/// Stride 2: Conv k4 s2 p1 (in->C/2), R, Conv k3 p1 (C/2->C), ResBlocks, R.
final class Encoder {
    let layers: LayerSequence

    init(_ store: ParameterStore, name: String, inChannels: Int, config: VQVAEConfig, stride: Int) {
        precondition(stride == 2 || stride == 4, "encoders have stride 2 or 4, not \(stride)")
        let c = config.channels, half = c / 2
        var layers: [any SequentialLayer] = [
            Conv2D(store, name: name + ".conv1", inChannels: inChannels, outChannels: half, kernel: 4, stride: 2,
                   padding: 1),
            Activation(.relu),
        ]
        if stride == 4 {
            layers += [
                Conv2D(store, name: name + ".conv2", inChannels: half, outChannels: c, kernel: 4, stride: 2,
                       padding: 1),
                Activation(.relu),
                Conv2D(store, name: name + ".conv3", inChannels: c, outChannels: c, kernel: 3, padding: 1),
            ]
        } else {
            layers.append(Conv2D(store, name: name + ".conv2", inChannels: half, outChannels: c, kernel: 3, padding: 1))
        }
        layers += [
            ResidualStack(store, name: name + ".res", channels: c, residualChannels: config.residualChannels,
                          count: config.residualBlocks),
            Activation(.relu),
        ]
        self.layers = LayerSequence(layers)
    }

    func forward(_ x: Tensor) -> Tensor { layers.forward(x) }

    /// The input gradient, or nil when `inputGradient` is false.
    @discardableResult
    func backward(_ dOutput: Tensor, inputGradient: Bool = true) -> Tensor? {
        layers.backward(dOutput, inputGradient: inputGradient)
    }
}
