#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// An element-wise activation (ReLU, ELU, tanh or sigmoid) with its backward pass.
///
/// Each of these has a derivative expressible through its output alone, so the layer keeps only its output.
package final class Activation {
    /// The function applied.
    package enum Kind: Sendable, Equatable {
        case relu
        /// alpha * (exp(x) - 1) for x <= 0, x otherwise (PyTorch's ELU).
        case elu(alpha: Float)
        case tanh
        case sigmoid
    }

    package let kind: Kind
    package let output = Tensor(shape: [0])
    package let inputGradient = Tensor(shape: [0])

    package init(_ kind: Kind) { self.kind = kind }

    /// Applies the function to every element of `x`.
    package func forward(_ x: Tensor) -> Tensor {
        output.resize(like: x)
        let src = x.data, dst = output.data, count = x.count
        switch kind {
        case .relu:
            // ReLU is exact: no split of the elements can change a bit.
            let kernels = VectorKernels.active
            ThreadPool.shared.forEachRange(count: count) { part, _ in
                kernels.reluForward(src + part.lowerBound, dst + part.lowerBound, count: part.count)
            }
        case .elu(let alpha):
            for i in 0..<count {
                let v = src[i]
                dst[i] = v > 0 ? v : alpha * expm1f(v)
            }
        case .tanh:
            for i in 0..<count { dst[i] = tanhf(src[i]) }
        case .sigmoid:
            for i in 0..<count { dst[i] = Activation.sigmoid(src[i]) }
        }
        return output
    }

    /// The gradient with respect to the last forward's input.
    package func backward(_ dOutput: Tensor) -> Tensor {
        precondition(dOutput.count == output.count, "gradient \(dOutput.shape) for output \(output.shape)")
        inputGradient.resize(like: output)
        let y = output.data, dy = dOutput.data, dx = inputGradient.data, count = output.count
        switch kind {
        case .relu:
            let kernels = VectorKernels.active
            ThreadPool.shared.forEachRange(count: count) { part, _ in
                kernels.reluBackward(
                    output: y + part.lowerBound, dy + part.lowerBound, dx + part.lowerBound, count: part.count)
            }
        case .elu(let alpha):
            // For x <= 0, d/dx alpha (e^x - 1) = alpha e^x = y + alpha.
            for i in 0..<count { dx[i] = y[i] > 0 ? dy[i] : dy[i] * (y[i] + alpha) }
        case .tanh:
            for i in 0..<count { dx[i] = dy[i] * (1 - y[i] * y[i]) }
        case .sigmoid:
            for i in 0..<count { dx[i] = dy[i] * y[i] * (1 - y[i]) }
        }
        return inputGradient
    }

    /// The logistic function, written so that neither branch overflows exp for large |x|.
    @inlinable
    package static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + expf(-x)) }
        let e = expf(x)
        return e / (1 + e)
    }
}
