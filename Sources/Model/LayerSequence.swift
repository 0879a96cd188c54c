import Numerics

/// A layer with one input and one output that a `LayerSequence` can chain.
protocol SequentialLayer: AnyObject {
    func forward(_ x: Tensor) -> Tensor
    /// Accumulates parameter gradients and returns the input gradient.
    func backward(_ dOutput: Tensor) -> Tensor
    /// Accumulates parameter gradients only: the first layer of a network need not compute an image gradient.
    func backwardParameters(_ dOutput: Tensor)
}

extension SequentialLayer {
    func backwardParameters(_ dOutput: Tensor) { _ = backward(dOutput) }
}

extension Conv2D: SequentialLayer {}
extension ConvTranspose2D: SequentialLayer {}
extension Activation: SequentialLayer {}

/// Layers applied one after the other; backward runs them in reverse.
final class LayerSequence {
    let layers: [any SequentialLayer]

    init(_ layers: [any SequentialLayer]) { self.layers = layers }

    func forward(_ x: Tensor) -> Tensor {
        var y = x
        for layer in layers { y = layer.forward(y) }
        return y
    }

    /// The input gradient, or nil when `inputGradient` is false (the first layer then skips computing it).
    /// The gradients between the layers are released once read (`Tensor.release`); `dOutput` is the caller's.
    @discardableResult
    func backward(_ dOutput: Tensor, inputGradient: Bool = true) -> Tensor? {
        var dy = dOutput
        for index in layers.indices.reversed() {
            if index == 0 && !inputGradient {
                layers[index].backwardParameters(dy)
                if dy !== dOutput { dy.release() }
                return nil
            }
            let dx = layers[index].backward(dy)
            if dy !== dOutput && dy !== dx { dy.release() }
            dy = dx
        }
        return dy
    }
}
