import Numerics
import TestSupport
import XCTest

/// A tensor of `shape` with values uniform in [-scale, scale], drawn from a fixed stream.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    let random = CounterRandom(seed: seed, keys: [0x7E57])
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, values: (0..<count).map { (2 * random.uniform(UInt64($0)) - 1) * scale })
}

/// Like randomTensor, but every value is at least `gap` away from zero (finite differences across a kink fail).
func randomTensorAwayFromZero(_ shape: [Int], seed: UInt64, scale: Float = 1, gap: Float = 0.05) -> Tensor {
    let t = randomTensor(shape, seed: seed, scale: scale)
    for i in 0..<t.count where abs(t.data[i]) < gap { t.data[i] = t.data[i] < 0 ? -gap : gap }
    return t
}

/// The projection weights of GradientCheck as the upstream gradient for an output of `shape`.
func upstream(_ shape: [Int], seed: UInt64 = 7) -> (weights: [Float], tensor: Tensor) {
    let weights = GradientCheck.lossWeights(count: shape.reduce(1, *), seed: seed)
    return (weights, Tensor(shape: shape, values: weights))
}

/// Compares the analytic gradient of L = sum w * forward() with respect to `count` values at `target` against
/// central differences; `forward` must recompute the output from the current values.
func checkGradient(
    _ name: String, target: UnsafeMutablePointer<Float>, count: Int, analytic: [Float], weights: [Float],
    check: GradientCheck = GradientCheck(), file: StaticString = #filePath, line: UInt = #line,
    forward: () -> Tensor
) {
    check.check(name, target: target, count: count, analytic: analytic, loss: {
        GradientCheck.projection(forward(), weights)
    }, file: file, line: line)
}

/// The accumulated gradient of `parameter` as an array.
func gradientArray(_ store: ParameterStore, _ parameter: Parameter) -> [Float] {
    Array(UnsafeBufferPointer(start: store.gradient(parameter), count: parameter.count))
}

/// Overwrites the values of `parameter` (to load golden weights).
func setValues(_ store: ParameterStore, _ parameter: Parameter, _ values: [Float]) {
    precondition(values.count == parameter.count, "\(values.count) values for \(parameter.name)")
    values.withUnsafeBufferPointer { store.value(parameter).update(from: $0.baseAddress!, count: values.count) }
}

/// Integer values stored as floats in a fixture.
func integers(_ values: [Float]) -> [Int32] { values.map { Int32($0) } }
