import Numerics
import TestSupport
import XCTest

final class LinearTests: XCTestCase {
    func testGradientsAgainstFiniteDifferences() {
        for bias in [true, false] {
            let store = ParameterStore()
            let layer = Linear(store, name: "fc", inFeatures: 5, outFeatures: 3, bias: bias)
            store.materialize(seed: 1)
            let x = randomTensor([2, 3, 3, 5], seed: 12)
            let y = layer.forward(x)
            XCTAssertEqual(y.shape, [2, 3, 3, 3])
            let (w, dy) = upstream(y.shape)
            let dx = layer.backward(dy).array
            checkGradient("linear dx", target: x.data, count: x.count, analytic: dx, weights: w) { layer.forward(x) }
            var parameters = [layer.weight]
            if let b = layer.bias { parameters.append(b) }
            for p in parameters {
                checkGradient(
                    p.name, target: store.value(p), count: p.count, analytic: gradientArray(store, p), weights: w
                ) { layer.forward(x) }
            }
        }
    }

    func testBackwardAccumulatesParameterGradients() {
        let store = ParameterStore()
        let layer = Linear(store, name: "fc", inFeatures: 4, outFeatures: 3)
        store.materialize(seed: 2)
        let x = randomTensor([5, 4], seed: 13)
        _ = layer.forward(x)
        let (_, dy) = upstream([5, 3])
        _ = layer.backward(dy)
        let once = gradientArray(store, layer.weight)
        _ = layer.forward(x)
        _ = layer.backward(dy)
        assertClose(gradientArray(store, layer.weight), once.map { 2 * $0 }, "accumulated twice")
    }

    func testRegistersPyTorchDefaults() {
        let store = ParameterStore()
        let layer = Linear(store, name: "head.fc", inFeatures: 16, outFeatures: 2)
        XCTAssertEqual(layer.weight.name, "head.fc.weight")
        XCTAssertEqual(layer.weight.shape, [2, 16])
        XCTAssertEqual(layer.bias?.shape, [2])
        XCTAssertEqual(layer.weight.initializer, .uniform(bound: 0.25))
        XCTAssertEqual(layer.bias?.initializer, .uniform(bound: 0.25))
    }

    func testAgainstPyTorch() throws {
        let fixture = try GoldenFixture("linear")
        let store = ParameterStore()
        let layer = Linear(store, name: "fc", inFeatures: 7, outFeatures: 6)
        store.materialize(seed: 0)
        setValues(store, layer.weight, try fixture.values("weight"))
        setValues(store, layer.bias!, try fixture.values("bias"))
        assertClose(layer.forward(try fixture.tensor("x")).array, try fixture.values("y"), "linear")
        assertClose(layer.backward(try fixture.tensor("dy")).array, try fixture.values("dx"), "linear dx")
        assertClose(gradientArray(store, layer.weight), try fixture.values("dweight"), "linear dweight")
        assertClose(gradientArray(store, layer.bias!), try fixture.values("dbias"), "linear dbias")
    }
}
