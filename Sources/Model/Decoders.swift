import Numerics

/// The VQ-VAE-2 decoders: stride 2 (the top decoder, top codes -> bottom resolution) or stride 4 (the image
/// decoder, both levels' codes -> pixels).
///
/// Stride 2: Conv k3 p1 (in->C), ResBlocks, R, ConvTranspose k4 s2 p1 (C->out).
/// Stride 4: Conv k3 p1 (in->C), ResBlocks, R, ConvTranspose k4 s2 p1 (C->C/2), R, ConvTranspose k4 s2 p1 (C/2->out).
final class Decoder {
    let layers: LayerSequence

    init(_ store: ParameterStore, name: String, inChannels: Int, outChannels: Int, config: VQVAEConfig, stride: Int) {
        precondition(stride == 2 || stride == 4, "decoders have stride 2 or 4, not \(stride)")
        let c = config.channels, half = c / 2
        var layers: [any SequentialLayer] = [
            Conv2D(store, name: name + ".conv1", inChannels: inChannels, outChannels: c, kernel: 3, padding: 1),
            ResidualStack(store, name: name + ".res", channels: c, residualChannels: config.residualChannels,
                          count: config.residualBlocks),
            Activation(.relu),
        ]
        if stride == 4 {
            layers += [
                ConvTranspose2D(store, name: name + ".deconv1", inChannels: c, outChannels: half, kernel: 4,
                                stride: 2, padding: 1),
                Activation(.relu),
                ConvTranspose2D(store, name: name + ".deconv2", inChannels: half, outChannels: outChannels,
                                kernel: 4, stride: 2, padding: 1),
            ]
        } else {
            layers.append(
                ConvTranspose2D(store, name: name + ".deconv1", inChannels: c, outChannels: outChannels, kernel: 4,
                                stride: 2, padding: 1))
        }
        self.layers = LayerSequence(layers)
    }

    func forward(_ x: Tensor) -> Tensor { layers.forward(x) }

    func backward(_ dOutput: Tensor) -> Tensor { layers.backward(dOutput)! }
}
