import Numerics
import TestSupport
import XCTest

final class UpsampleTests: XCTestCase {
    func testGradientAgainstFiniteDifferences() {
        let layer = NearestUpsample2x()
        let x = randomTensor([2, 3, 5, 3], seed: 11)
        let y = layer.forward(x)
        XCTAssertEqual(y.shape, [2, 6, 10, 3])
        let (w, dy) = upstream(y.shape)
        let dx = layer.backward(dy).array
        checkGradient("upsample", target: x.data, count: x.count, analytic: dx, weights: w) { layer.forward(x) }
    }

    func testAgainstPyTorch() throws {
        let fixture = try GoldenFixture("upsample")
        let layer = NearestUpsample2x()
        assertClose(layer.forward(try fixture.tensor("x")).array, try fixture.values("y"), "upsample")
        assertClose(layer.backward(try fixture.tensor("dy")).array, try fixture.values("dx"), "upsample dx")
    }
}
