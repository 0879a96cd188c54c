import Numerics

/// A layer with one input and one output that a `LayerSequence` can chain.
protocol SequentialLayer: AnyObject {
    func forward(_ x: Tensor) -> Tensor
    /// Accumulates parameter gradients and returns the input gradient.
    func backward(_ dOutput: Tensor) -> Tensor
    /// Accumulates parameter gradients only: the first layer of a network need not compute an image gradient.
    func backwardParameters(_ dOutput: Tensor)
    /// Whether backward reads the last forward's input (a convolution's weight gradient does).
    var readsInputInBackward: Bool { get }
    /// Whether backward reads the last forward's output (an activation's derivative does).
    var readsOutputInBackward: Bool { get }
}

extension SequentialLayer {
    func backwardParameters(_ dOutput: Tensor) { _ = backward(dOutput) }
    var readsInputInBackward: Bool { true }
    var readsOutputInBackward: Bool { true }
}

extension Conv2D: SequentialLayer {
    var readsOutputInBackward: Bool { false }
}
extension ConvTranspose2D: SequentialLayer {
    var readsOutputInBackward: Bool { false }
}
extension Activation: SequentialLayer {
    var readsInputInBackward: Bool { false }
}

/// Layers applied one after the other; backward runs them in reverse.
///
/// Memory is handed back as soon as nothing will read it (`Tensor.release`): in forward, a layer's output once
/// the next layer has consumed it, when neither of the two reads it in backward (a convolution's output fed to
/// an activation, which keeps its own output); in backward, each gradient between the layers once it is read.
final class LayerSequence {
    let layers: [any SequentialLayer]

    init(_ layers: [any SequentialLayer]) { self.layers = layers }

    func forward(_ x: Tensor) -> Tensor {
        var y = x
        for (index, layer) in layers.enumerated() {
            let next = layer.forward(y)
            if index > 0 && next !== y && !layer.readsInputInBackward && !layers[index - 1].readsOutputInBackward {
                y.release()
            }
            y = next
        }
        return y
    }

    /// The input gradient, or nil when `inputGradient` is false (the first layer then skips computing it).
    /// `dOutput` stays the caller's.
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
