#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

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
        let src = x.data, g = gates.data, dst = output.data
        let lanes = VectorMath.Vector.scalarCount, vectorEnd = c - c % lanes
        for r in 0..<rows {
            let a = src + r * width, ga = g + r * width, y = dst + r * c
            var j = 0
            while j < vectorEnd {
                let t = VectorMath.tanh(VectorMath.load(a + j)), s = VectorMath.sigmoid(VectorMath.load(a + c + j))
                VectorMath.store(t, ga + j)
                VectorMath.store(s, ga + c + j)
                VectorMath.store(t * s, y + j)
                j += lanes
            }
            for j in vectorEnd..<c {
                let t = tanhf(a[j])
                let s = Activation.sigmoid(a[c + j])
                ga[j] = t
                ga[c + j] = s
                y[j] = t * s
            }
        }
        return output
    }

    package func backward(_ dOutput: Tensor) -> Tensor {
        precondition(2 * dOutput.count == gates.count, "gradient \(dOutput.shape) for input \(gates.shape)")
        inputGradient.resize(like: gates)
        let width = gates.c, c = width / 2, rows = gates.rowCount
        let g = gates.data, dy = dOutput.data, dx = inputGradient.data
        let lanes = VectorMath.Vector.scalarCount, vectorEnd = c - c % lanes
        for r in 0..<rows {
            let ga = g + r * width, d = dy + r * c, da = dx + r * width
            var j = 0
            while j < vectorEnd {
                let t = VectorMath.load(ga + j), s = VectorMath.load(ga + c + j), dj = VectorMath.load(d + j)
                VectorMath.store(dj * s * (1 - t * t), da + j)
                VectorMath.store(dj * t * s * (1 - s), da + c + j)
                j += lanes
            }
            for j in vectorEnd..<c {
                let t = ga[j], s = ga[c + j]
                da[j] = d[j] * s * (1 - t * t)
                da[c + j] = d[j] * t * s * (1 - s)
            }
        }
        return inputGradient
    }
}
