import Numerics
import TestSupport
import XCTest

/// A tensor of uniform values in [-1, 1) from a counter-based stream, so every run sees the same numbers.
func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    let t = Tensor(shape: shape)
    let random = CounterRandom(seed: seed, keys: [0xC0DE])
    for i in 0..<t.count { t.data[i] = 2 * random.uniform(UInt64(i)) - 1 }
    return t
}

/// Checks the input gradient and every parameter gradient of a layer against central finite differences of the
/// projection loss sum w_i y_i.
func checkGradients(
    store: ParameterStore, input: Tensor, parameters: [Parameter],
    forward: (Tensor) -> Tensor, backward: (Tensor) -> Tensor,
    file: StaticString = #filePath, line: UInt = #line
) {
    let y = forward(input)
    let weights = GradientCheck.lossWeights(count: y.count)
    let dOutput = Tensor(shape: y.shape, values: weights)
    store.zeroGradients()
    let dx = backward(dOutput).array
    let check = GradientCheck()
    let loss = { GradientCheck.projection(forward(input), weights) }
    check.check("input", target: input.data, count: input.count, analytic: dx, loss: loss, file: file, line: line)
    for p in parameters {
        let analytic = Array(UnsafeBufferPointer(start: store.gradient(p), count: p.count))
        check.check(p.name, target: store.value(p), count: p.count, analytic: analytic, loss: loss, file: file, line: line)
    }
}

/// Copies a fixture tensor into a parameter's values.
func load(_ fixture: GoldenFixture, _ name: String, into parameter: Parameter, of store: ParameterStore) throws {
    let t = try fixture.tensor(name)
    XCTAssertEqual(t.shape, parameter.shape, "\(fixture.path): \(name)")
    store.value(parameter).update(from: t.data, count: t.count)
}

/// Compares a layer's output, input gradient and parameter gradients with a PyTorch fixture.
func assertMatchesFixture(
    _ fixture: GoldenFixture, store: ParameterStore, weight: Parameter, bias: Parameter?,
    forward: (Tensor) -> Tensor, backward: (Tensor) -> Tensor,
    file: StaticString = #filePath, line: UInt = #line
) throws {
    try load(fixture, "weight", into: weight, of: store)
    if let bias { try load(fixture, "bias", into: bias, of: store) }
    let y = forward(try fixture.tensor("x"))
    let reference = try fixture.tensor("y")
    XCTAssertEqual(y.shape, reference.shape, "\(fixture.path): output shape", file: file, line: line)
    assertClose(y.array, reference.array, relative: 1e-5, absolute: 1e-5, "\(fixture.path): y", file: file, line: line)
    store.zeroGradients()
    let dx = backward(try fixture.tensor("dy")).array
    assertClose(dx, try fixture.values("dx"), relative: 1e-5, absolute: 1e-5, "\(fixture.path): dx", file: file, line: line)
    let dw = Array(UnsafeBufferPointer(start: store.gradient(weight), count: weight.count))
    assertClose(dw, try fixture.values("dweight"), relative: 1e-5, absolute: 1e-5, "\(fixture.path): dweight", file: file, line: line)
    if let bias {
        let db = Array(UnsafeBufferPointer(start: store.gradient(bias), count: bias.count))
        assertClose(db, try fixture.values("dbias"), relative: 1e-5, absolute: 1e-5, "\(fixture.path): dbias", file: file, line: line)
    }
}
