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
