import Numerics
import TestSupport
import XCTest

final class GateTests: XCTestCase {
    func testGradientAgainstFiniteDifferences() {
        let layer = GatedActivation()
        let x = randomTensor([2, 3, 5, 6], seed: 3, scale: 2)
        let y = layer.forward(x)
        XCTAssertEqual(y.shape, [2, 3, 5, 3])
        let (w, dy) = upstream(y.shape)
        let dx = layer.backward(dy).array
        checkGradient("gate", target: x.data, count: x.count, analytic: dx, weights: w) { layer.forward(x) }
    }

    func testAgainstPyTorch() throws {
        let fixture = try GoldenFixture("gate")
        let layer = GatedActivation()
        assertClose(layer.forward(try fixture.tensor("x")).array, try fixture.values("y"), "gate")
        assertClose(layer.backward(try fixture.tensor("dy")).array, try fixture.values("dx"), "gate dx")
    }
}

final class GateApproximationTests: XCTestCase {
    /// The vector tanh and sigmoid (CVectorKernels, the active variant) against libm over the range a gate meets (and past both clamps): relative
    /// error, or absolute below 1e-30 (sigmoid below -87 returns about e^-87 where libm goes subnormal).
    func testVectorisedGateMatchesLibm() {
        let c = 16, rows = 4001
        let x = Tensor(shape: [1, 1, rows, 2 * c])
        for r in 0..<rows {
            for j in 0..<(2 * c) {
                // Dense near zero (where tanh's two formulas meet) and out to +-100.
                let u = Float(r - rows / 2) / Float(rows / 2) + Float(j) * 1e-3
                x.data[r * 2 * c + j] = u * u * u * 100
            }
        }
        let y = GatedActivation().forward(x)
        var worst: Float = 0
        for r in 0..<rows {
            for j in 0..<c {
                let a = x.data[r * 2 * c + j], b = x.data[r * 2 * c + c + j]
                let reference = Float(tanh(Double(a)) / (1 + exp(-Double(b))))
                let error = abs(y.data[r * c + j] - reference) / max(abs(reference), 1e-30)
                worst = max(worst, error)
            }
        }
        XCTAssertLessThan(worst, 1e-6, "largest relative error of tanh(a) * sigmoid(b)")
    }
}
