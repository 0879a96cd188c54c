/// The gated unit of gated PixelCNN, tanh(a) * sigmoid(b), over a tensor whose channels are the halves [a | b].
///
/// Input [..., 2C], output [..., C]; the layer keeps tanh(a) and sigmoid(b) (same layout as the input) for backward,
/// which reads nothing else, so a caller may release the output once it has been read.
package final class GatedActivation {
    package let output = Tensor(shape: [0])
    package let inputGradient = Tensor(shape: [0])
    /// tanh(a) in the first half of the channels, sigmoid(b) in the second.
    private let gates = Tensor(shape: [0])

    package init() {}

    package func forward(_ x: Tensor) -> Tensor {
        let width = x.c
        precondition(width % 2 == 0, "gated unit needs an even channel count, got \(x.shape)")
        let c = width / 2, rows = x.rowCount
        var outShape = x.shape
        outShape[outShape.count - 1] = c
        output.resize(outShape)
        gates.resize(like: x)
        // The kernels work row by row, so any split of the rows gives the same bits.
        let kernels = VectorKernels.active, input = x.data, gateData = gates.data, out = output.data
        ThreadPool.shared.forEachRange(count: rows, grain: max(1, 8192 / c)) { part, _ in
            kernels.gateForward(
                input + part.lowerBound * 2 * c, gates: gateData + part.lowerBound * 2 * c,
                out + part.lowerBound * c, rows: part.count, channels: c)
        }
        return output
    }

    /// Hands back tanh(a) and sigmoid(b) until the next forward, for a caller that runs the forward again before
    /// backward (the output stays).
    package func releaseSaved() { gates.release() }

    package func backward(_ dOutput: Tensor) -> Tensor {
        precondition(2 * dOutput.count == gates.count, "gradient \(dOutput.shape) for input \(gates.shape)")
        inputGradient.resize(like: gates)
        let width = gates.c, c = width / 2, rows = gates.rowCount
        let kernels = VectorKernels.active, gateData = gates.data, dy = dOutput.data, dx = inputGradient.data
        ThreadPool.shared.forEachRange(count: rows, grain: max(1, 8192 / c)) { part, _ in
            kernels.gateBackward(
                gates: gateData + part.lowerBound * 2 * c, dy + part.lowerBound * c, dx + part.lowerBound * 2 * c,
                rows: part.count, channels: c)
        }
        return inputGradient
    }
}
