import Model
import Numerics
import TestSupport
import XCTest

/// Backward releases each intermediate gradient once it has been read (`Tensor.release`): a second forward and
/// backward must reallocate what it needs and give the same gradients, bit for bit.
final class GradientReleaseTests: XCTestCase {
    private func gradients(_ store: ParameterStore) -> [Float] {
        Array(UnsafeBufferPointer(start: store.gradients, count: store.count))
    }

    func testAReleasedTensorIsEmptyAndGrowsAgain() {
        let tensor = Tensor(shape: [2, 3])
        tensor.release()
        XCTAssertEqual(tensor.count, 0)
        XCTAssertEqual(tensor.shape, [0])
        tensor.release()
        tensor.resize([4, 5])
        for i in 0..<tensor.count { tensor.data[i] = Float(i) }
        XCTAssertEqual(tensor.array, (0..<20).map(Float.init))
    }

    func testVQVAEBackwardTwiceGivesTheSameGradients() throws {
        let model = try makeModel(tinyConfig(), seed: 4)
        let images = randomTensor([2, 8, 8, 3], seed: 12)
        model.initializeCodebooks(from: images)
        var runs: [[Float]] = []
        for _ in 0..<2 {
            _ = model.forward(images, training: true)
            model.store.zeroGradients()
            let imageGradient = try XCTUnwrap(model.backward(inputGradient: true)).array
            runs.append(gradients(model.store) + imageGradient)
        }
        XCTAssertEqual(runs[0], runs[1])
        XCTAssertTrue(runs[0].contains { $0 != 0 })
    }

    func testPriorBackwardsTwiceGiveTheSameGradients() {
        let batch = 2, height = 4, width = 6
        let codes = randomCodes(batch * height * width, below: 6, seed: 1)
        let topCodes = randomCodes(batch * 2 * 3, below: 6, seed: 2)
        let labels: [Int32] = [0, 2]
        let dropout = DropoutContext(seed: 7, step: 3, firstSample: 0)
        let loss = SoftmaxCrossEntropy()

        let bottomStore = ParameterStore()
        let bottom = BottomPrior(
            bottomStore, name: "bottom", config: tinyPriorConfig(dropout: 0.2), height: height, width: width)
        bottomStore.materialize(seed: 3)
        let topStore = ParameterStore()
        let topConfig = tinyPriorConfig(attentionEvery: 1, dropout: 0.2)
        let top = TopPrior(topStore, name: "top", config: topConfig, height: height, width: width)
        topStore.materialize(seed: 5)

        var runs: [[Float]] = []
        for _ in 0..<2 {
            bottomStore.zeroGradients()
            topStore.zeroGradients()
            let bottomLogits = bottom.forward(
                codes: codes, topCodes: topCodes, labels: labels, batch: batch, dropout: dropout)
            _ = loss.forward(bottomLogits, targets: codes)
            bottom.backward(loss.backward())
            _ = loss.forward(top.forward(codes: codes, labels: labels, batch: batch, dropout: dropout), targets: codes)
            top.backward(loss.backward())
            runs.append(gradients(bottomStore) + gradients(topStore))
        }
        XCTAssertEqual(runs[0], runs[1])
        XCTAssertTrue(runs[0].contains { $0 != 0 })
    }
}
