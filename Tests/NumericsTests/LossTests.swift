#if canImport(Glibc)
import Glibc
#endif
import Numerics
import TestSupport
import XCTest

final class LossTests: XCTestCase {
    func testMeanSquaredErrorGradient() {
        let loss = MeanSquaredError()
        let p = randomTensor([2, 3, 5, 3], seed: 20), t = randomTensor([2, 3, 5, 3], seed: 21)
        _ = loss.forward(p, t)
        let analytic = loss.backward(0.5).array
        GradientCheck().check("mse", target: p.data, count: p.count, analytic: analytic) {
            let value = 0.5 * Double(loss.forward(p, t))
            return (value, abs(value))
        }
    }

    func testCrossEntropyGradient() {
        let loss = SoftmaxCrossEntropy()
        let logits = randomTensor([2, 3, 5, 7], seed: 22, scale: 3)
        let targets: [Int32] = (0..<30).map { Int32(($0 * 5) % 7) }
        let nll = loss.forward(logits, targets: targets)
        XCTAssertEqual(nll.count, 30)
        let analytic = loss.backward().array
        GradientCheck().check("cross-entropy", target: logits.data, count: logits.count, analytic: analytic) {
            let value = loss.forward(logits, targets: targets).natsPerPosition
            return (value, abs(value))
        }
    }

    func testCrossEntropyIsStableForLargeLogits() {
        let loss = SoftmaxCrossEntropy()
        let nll = loss.forward(Tensor(shape: [1, 3], values: [1000, 0, -1000]), targets: [1])
        XCTAssertEqual(nll.sum, 1000, accuracy: 1e-3)
        XCTAssertTrue(loss.backward().array.allSatisfy { $0.isFinite })
    }

    func testNatsAndBits() {
        let uniform = SoftmaxCrossEntropy().forward(Tensor(shape: [2, 2, 8]), targets: [0, 3, 7, 5])
        XCTAssertEqual(uniform.natsPerPosition, log(8.0), accuracy: 1e-6)
        XCTAssertEqual(uniform.bitsPerPosition, 3, accuracy: 1e-6)
        XCTAssertEqual(uniform.sum, 4 * log(8.0), accuracy: 1e-5)
    }

    func testAgainstPyTorch() throws {
        let mse = try GoldenFixture("mse")
        let squared = MeanSquaredError()
        let value = squared.forward(try mse.tensor("prediction"), try mse.tensor("target"))
        assertClose([value], try mse.values("loss"), "mse")
        assertClose(squared.backward().array, try mse.values("dprediction"), "mse gradient")

        let ce = try GoldenFixture("cross_entropy")
        let loss = SoftmaxCrossEntropy()
        let nll = loss.forward(try ce.tensor("logits"), targets: integers(try ce.values("targets")))
        assertClose([Float(nll.sum)], try ce.values("nll_sum"), "nll sum")
        XCTAssertEqual(Float(nll.count), try ce.values("count")[0])
        assertClose(loss.backward().array, try ce.values("dlogits"), "cross-entropy gradient")
    }
}
