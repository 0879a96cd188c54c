#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Adam (Kingma & Ba 2015) with bias correction, optional decoupled weight decay (AdamW), over a flat buffer.
///
/// The moments are flat buffers in the parameter store's layout, so a checkpoint saves them by offset and a
/// sharded checkpoint can split them at any parameter boundary.
package final class Adam {
    /// The moments' decay rates, kept in Double as PyTorch keeps them: 1 - beta and beta^t are formed in Double
    /// and rounded once, so 1 - 0.999 is 0.001 rather than fp32's 0.00099998713 (which shifted every second
    /// moment by 1.3e-5 against PyTorch's; the whole-model golden test showed it).
    package var beta1: Double
    package var beta2: Double
    package var epsilon: Float
    package var weightDecay: Float
    /// Steps taken so far; bias correction uses it, and a checkpoint must restore it.
    package var step: Int = 0
    /// First and second moment estimates, one per parameter value.
    package let m: UnsafeMutableBufferPointer<Float>
    package let v: UnsafeMutableBufferPointer<Float>

    package init(count: Int, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        m = .allocate(capacity: count)
        v = .allocate(capacity: count)
        m.initialize(repeating: 0)
        v.initialize(repeating: 0)
    }

    deinit {
        m.deallocate()
        v.deallocate()
    }

    /// Applies one update with learning rate `lr` to `count` values from their gradients.
    package func update(values: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, lr: Float) {
        step += 1
        let b1 = Float(beta1), b2 = Float(beta2), take1 = Float(1 - beta1), take2 = Float(1 - beta2)
        let eps = epsilon, decay = weightDecay
        let correction1 = Float(1 - beta1.power(step))
        let correction2 = Float(1 - beta2.power(step))
        let stepSize = lr / correction1
        let inverseRootCorrection2 = 1 / correction2.squareRoot()
        let m = m.baseAddress!, v = v.baseAddress!, count = self.m.count
        // Eight lanes at a time, the same operations in the same order as the scalar tail (so the same bits):
        // the scalar loop, with its square root and division, did not vectorise and cost ~3% of a VQ-VAE step.
        // Every element is updated alone, so the threads' ranges do not change it either.
        typealias Vector = SIMD8<Float>
        let lanes = Vector.scalarCount
        ThreadPool.shared.forEachRange(count: count) { range, _ in
            let vectorEnd = range.upperBound - range.count % lanes
            var i = range.lowerBound
            while i < vectorEnd {
                let g = VectorMath.load(gradients + i)
                let mi = b1 * VectorMath.load(m + i) + take1 * g
                let vi = b2 * VectorMath.load(v + i) + take2 * g * g
                VectorMath.store(mi, m + i)
                VectorMath.store(vi, v + i)
                var x = VectorMath.load(values + i)
                if decay != 0 { x -= lr * decay * x }
                VectorMath.store(x - stepSize * mi / ((vi.squareRoot() * inverseRootCorrection2) + eps), values + i)
                i += lanes
            }
            for i in vectorEnd..<range.upperBound {
                let g = gradients[i]
                let mi = b1 * m[i] + take1 * g
                let vi = b2 * v[i] + take2 * g * g
                m[i] = mi
                v[i] = vi
                var x = values[i]
                if decay != 0 { x -= lr * decay * x }
                values[i] = x - stepSize * mi / ((vi.squareRoot() * inverseRootCorrection2) + eps)
            }
        }
    }
}

extension Double {
    fileprivate func power(_ n: Int) -> Double {
        var result = 1.0
        for _ in 0..<n { result *= self }
        return result
    }
}

/// Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_.
package enum GradientClipping {
    /// The L2 norm of `count` gradients, accumulated in Double so the result does not depend on fp32 order.
    package static func norm(_ gradients: UnsafePointer<Float>, count: Int) -> Double {
        var sum = 0.0
        for i in 0..<count { sum += Double(gradients[i]) * Double(gradients[i]) }
        return sum.squareRoot()
    }

    /// Scales the gradients so that their global norm is at most `maxNorm`; returns the norm before clipping.
    @discardableResult
    package static func clip(_ gradients: UnsafeMutablePointer<Float>, count: Int, maxNorm: Double) -> Double {
        let total = norm(gradients, count: count)
        if total > maxNorm {
            let scale = Float(maxNorm / (total + 1e-6))
            for i in 0..<count { gradients[i] *= scale }
        }
        return total
    }
}

/// A learning-rate schedule: linear warm-up, then constant or cosine decay to a floor.
package struct LearningRateSchedule: Sendable, Equatable {
    package enum Decay: String, Sendable, Codable, CaseIterable { case constant, cosine }

    package var base: Float
    package var warmupSteps: Int
    package var decay: Decay
    package var totalSteps: Int
    package var minimum: Float

    package init(base: Float, warmupSteps: Int = 0, decay: Decay = .constant, totalSteps: Int = 0, minimum: Float = 0) {
        self.base = base
        self.warmupSteps = warmupSteps
        self.decay = decay
        self.totalSteps = totalSteps
        self.minimum = minimum
    }

    /// The rate for step `step` (0-based: the first update uses step 0).
    package func rate(at step: Int) -> Float {
        if step < warmupSteps { return base * Float(step + 1) / Float(warmupSteps) }
        switch decay {
        case .constant:
            return base
        case .cosine:
            let span = max(totalSteps - warmupSteps, 1)
            let progress = min(Double(step - warmupSteps) / Double(span), 1)
            return minimum + (base - minimum) * Float(0.5 * (1 + cos(Double.pi * progress)))
        }
    }
}
