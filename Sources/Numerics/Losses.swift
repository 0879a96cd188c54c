#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Mean squared error mean((prediction - target)^2) over all elements, with its gradient for the prediction.
package final class MeanSquaredError {
    package let inputGradient = Tensor(shape: [0])
    /// prediction - target of the last forward.
    private let difference = Tensor(shape: [0])

    package init() {}

    /// The loss value, accumulated in Double.
    package func forward(_ prediction: Tensor, _ target: Tensor) -> Float {
        precondition(prediction.shape == target.shape, "MSE of \(prediction.shape) against \(target.shape)")
        difference.resize(like: prediction)
        let p = prediction.data, t = target.data, d = difference.data
        var sum = 0.0
        for i in 0..<prediction.count {
            let e = p[i] - t[i]
            d[i] = e
            sum += Double(e * e)
        }
        return Float(sum / Double(max(prediction.count, 1)))
    }

    /// dL/dprediction scaled by `dLoss` (the upstream gradient of the loss value; 1 for the loss itself).
    package func backward(_ dLoss: Float = 1) -> Tensor {
        inputGradient.resize(like: difference)
        let scale = 2 * dLoss / Float(max(difference.count, 1))
        let d = difference.data, g = inputGradient.data
        for i in 0..<difference.count { g[i] = scale * d[i] }
        return inputGradient
    }
}

/// A summed negative log-likelihood and the number of positions it covers, for reporting and reducing across ranks.
package struct NegativeLogLikelihood: Sendable, Equatable {
    /// Sum over positions of -log p(target), in nats.
    package var sum: Double
    package var count: Int

    package init(sum: Double, count: Int) {
        self.sum = sum
        self.count = count
    }

    package var natsPerPosition: Double { count == 0 ? 0 : sum / Double(count) }
    package var bitsPerPosition: Double { natsPerPosition / M_LN2 }
}

/// Softmax cross-entropy over the last axis (K classes) of logits [..., K] with one integer target per position.
package final class SoftmaxCrossEntropy {
    package let inputGradient = Tensor(shape: [0])
    /// Softmax of the last forward's logits, kept for the gradient.
    package let probabilities = Tensor(shape: [0])
    private var targets: [Int32] = []

    package init() {}

    /// The summed NLL (stable log-sum-exp) and the number of positions.
    package func forward(_ logits: Tensor, targets: [Int32]) -> NegativeLogLikelihood {
        let k = logits.c, rows = logits.rowCount
        precondition(targets.count == rows, "\(targets.count) targets for logits \(logits.shape)")
        self.targets.removeAll(keepingCapacity: true)
        self.targets.append(contentsOf: targets)
        probabilities.resize(like: logits)
        for target in targets { precondition(target >= 0 && Int(target) < k, "target \(target) outside 0..<\(k)") }
        // Rows on any thread, their losses kept apart and summed in row order afterwards.
        let losses = UnsafeMutablePointer<Double>.allocate(capacity: max(rows, 1))
        defer { losses.deallocate() }
        let logitData = logits.data, probabilityData = probabilities.data
        targets.withUnsafeBufferPointer { targets in
            ThreadPool.shared.forEachRange(count: rows, grain: max(1, 16_384 / max(k, 1))) { range, _ in
                for r in range {
                    let l = logitData + r * k, p = probabilityData + r * k
                    var largest = -Float.infinity
                    for j in 0..<k { largest = max(largest, l[j]) }
                    var sum: Float = 0
                    for j in 0..<k {
                        let e = expf(l[j] - largest)
                        p[j] = e
                        sum += e
                    }
                    let inverse = 1 / sum
                    for j in 0..<k { p[j] *= inverse }
                    losses[r] = Double(largest + logf(sum) - l[Int(targets[r])])
                }
            }
        }
        var total = 0.0
        for r in 0..<rows { total += losses[r] }
        return NegativeLogLikelihood(sum: total, count: rows)
    }

    /// The gradient of the mean NLL over positions, scaled by `dLoss`: (softmax - onehot(target)) * dLoss / count.
    package func backward(_ dLoss: Float = 1) -> Tensor {
        let targets = self.targets
        let k = probabilities.c, rows = targets.count
        inputGradient.resize(like: probabilities)
        let scale = dLoss / Float(max(rows, 1))
        let p = probabilities.data, g = inputGradient.data
        ThreadPool.shared.forEachRange(count: probabilities.count) { range, _ in
            for i in range { g[i] = scale * p[i] }
        }
        for r in 0..<rows { g[r * k + Int(targets[r])] -= scale }
        return inputGradient
    }
}
