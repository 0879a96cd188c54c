import Numerics
import XCTest

/// Central finite differences against an analytic gradient, with a tolerance derived from the step and fp32 rounding.
///
/// The loss is L = sum_i w_i y_i over a layer's outputs y with fixed random weights w, evaluated in Double from fp32
/// outputs. Each y_i carries a rounding error of a few ulps of its magnitude, so the difference quotient carries
/// about ulp * sum|w_i y_i| / h of noise; the truncation error of the central difference is O(h^2). The check
/// allows `roundingFactor` times the first plus a relative `truncation` share of the gradient.
package struct GradientCheck {
    package var step: Float
    package var roundingFactor: Double
    package var truncation: Double
    package var samples: Int

    package init(step: Float = 1e-2, roundingFactor: Double = 64, truncation: Double = 2e-3, samples: Int = 48) {
        self.step = step
        self.roundingFactor = roundingFactor
        self.truncation = truncation
        self.samples = samples
    }

    /// Fixed pseudo-random weights for the projection loss.
    package static func lossWeights(count: Int, seed: UInt64 = 7) -> [Float] {
        let random = CounterRandom(seed: seed, keys: [0xF00D])
        return (0..<count).map { 2 * random.uniform(UInt64($0)) - 1 }
    }

    /// L = sum w_i y_i in Double, and sum |w_i y_i| (the scale of its rounding error).
    package static func projection(_ output: Tensor, _ weights: [Float]) -> (value: Double, magnitude: Double) {
        precondition(weights.count == output.count)
        var value = 0.0
        var magnitude = 0.0
        for i in 0..<output.count {
            let term = Double(weights[i]) * Double(output.data[i])
            value += term
            magnitude += abs(term)
        }
        return (value, magnitude)
    }

    /// Perturbs `count` values at `target` one at a time (a deterministic sample of indices, or all when few),
    /// re-evaluating `loss`, and compares the quotient with `analytic` (the gradient backward produced).
    package func check(
        _ name: String, target: UnsafeMutablePointer<Float>, count: Int, analytic: [Float],
        loss: () -> (value: Double, magnitude: Double), file: StaticString = #filePath, line: UInt = #line
    ) {
        precondition(analytic.count == count, "\(name): analytic gradient has \(analytic.count) values for \(count)")
        let indices: [Int]
        if count <= samples {
            indices = Array(0..<count)
        } else {
            let random = CounterRandom(seed: 11, keys: [UInt64(count)])
            indices = (0..<samples).map { random.integer(UInt64($0), below: count) }
        }
        let h = Double(step)
        for i in indices {
            let saved = target[i]
            target[i] = saved + step
            let plus = loss()
            target[i] = saved - step
            let minus = loss()
            target[i] = saved
            let numeric = (plus.value - minus.value) / (2 * h)
            let noise = Double(Float.ulpOfOne) * max(plus.magnitude, minus.magnitude) / h
            let tolerance = roundingFactor * noise + truncation * (abs(numeric) + abs(Double(analytic[i]))) + 1e-6
            let error = abs(numeric - Double(analytic[i]))
            if !(error <= tolerance) {
                XCTFail(
                    "\(name)[\(i)]: analytic \(analytic[i]), finite difference \(numeric), error \(error) > \(tolerance)",
                    file: file, line: line)
                return
            }
        }
    }
}
