import Numerics
import TestSupport
import XCTest

final class ActivationTests: XCTestCase {
    private let kinds: [(String, Activation.Kind)] = [
        ("relu", .relu), ("elu", .elu(alpha: 1)), ("tanh", .tanh), ("sigmoid", .sigmoid),
    ]

    func testGradientsAgainstFiniteDifferences() {
        for (name, kind) in kinds {
            let layer = Activation(kind)
            let x = randomTensorAwayFromZero([2, 3, 5, 3], seed: 1, scale: 3)
            let y = layer.forward(x)
            let (w, dy) = upstream(y.shape)
            let dx = layer.backward(dy).array
            checkGradient(name, target: x.data, count: x.count, analytic: dx, weights: w) { layer.forward(x) }
        }
    }

    func testEluAlphaScalesTheNegativeSide() {
        let layer = Activation(.elu(alpha: 0.5))
        let x = randomTensorAwayFromZero([3, 7], seed: 2, scale: 2)
        let y = layer.forward(x)
        let (w, dy) = upstream(y.shape)
        let dx = layer.backward(dy).array
        checkGradient("elu 0.5", target: x.data, count: x.count, analytic: dx, weights: w) { layer.forward(x) }
        XCTAssertEqual(layer.forward(Tensor(shape: [1], values: [-100])).data[0], -0.5)
    }

    func testSigmoidIsFiniteForLargeInputs() {
        let y = Activation(.sigmoid).forward(Tensor(shape: [4], values: [-200, -90, 90, 200])).array
        XCTAssertEqual(y, [0, y[1], 1, 1])
        XCTAssertTrue(y.allSatisfy { $0.isFinite })
    }

    func testAgainstPyTorch() throws {
        let fixture = try GoldenFixture("activations")
        let x = try fixture.tensor("x"), dy = try fixture.tensor("dy")
        for (name, kind) in kinds {
            let layer = Activation(kind)
            assertClose(layer.forward(x).array, try fixture.values(name + ".y"), absolute: 1e-6, name)
            assertClose(layer.backward(dy).array, try fixture.values(name + ".dx"), absolute: 1e-6, name + " dx")
        }
    }
}
