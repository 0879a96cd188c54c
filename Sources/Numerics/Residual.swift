/// A residual connection y = a + b of two tensors of one shape.
///
/// The gradient of both inputs is the output gradient itself, so backward returns `dOutput` and copies nothing;
/// a caller that needs to modify one branch's gradient copies it first.
package final class ResidualAdd {
    package let output = Tensor(shape: [0])

    package init() {}

    package func forward(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "residual add of \(a.shape) and \(b.shape)")
        output.resize(like: a)
        let x = a.data, y = b.data, z = output.data
        ThreadPool.shared.forEachRange(count: a.count) { range, _ in
            for i in range { z[i] = x[i] + y[i] }
        }
        return output
    }

    /// The gradients of (a, b).
    package func backward(_ dOutput: Tensor) -> (Tensor, Tensor) { (dOutput, dOutput) }

    /// target += source: where a tensor feeds several layers, its gradient is the sum of theirs.
    package static func accumulate(_ source: Tensor, into target: Tensor) {
        precondition(source.shape == target.shape, "accumulate \(source.shape) into \(target.shape)")
        let s = source.data, t = target.data
        ThreadPool.shared.forEachRange(count: source.count) { range, _ in
            for i in range { t[i] += s[i] }
        }
    }
}
