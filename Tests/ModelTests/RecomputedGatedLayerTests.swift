import Model
import Numerics
import TestSupport
import XCTest

/// `recomputesGatedLayers`: forward keeps of each gated layer only its inputs and outputs, and backward runs the
/// layer's forward again first. The logits and every gradient must be bit for bit those of the plain path (dropout
/// on, so that a mask drawn differently the second time would show), and forward must hold less memory.
final class RecomputedGatedLayerTests: XCTestCase {
    private let batch = 2, height = 4, width = 6
    private let labels: [Int32] = [0, 2]
    private let dropout = DropoutContext(seed: 7, step: 3, firstSample: 0)

    /// Logits, then the gradients after one training forward and backward (twice: the second run reallocates what
    /// the first released).
    private func run(top recompute: Bool) -> [[Float]] {
        let store = ParameterStore()
        let config = tinyPriorConfig(attentionEvery: 1, dropout: 0.2)
        let prior = TopPrior(store, name: "top", config: config, height: height, width: width)
        store.materialize(seed: 5)
        prior.recomputesGatedLayers = recompute
        let codes = randomCodes(batch * height * width, below: config.codebookSize, seed: 1)
        let loss = SoftmaxCrossEntropy()
        return (0..<2).map { _ in
            store.zeroGradients()
            let logits = prior.forward(codes: codes, labels: labels, batch: batch, dropout: dropout)
            _ = loss.forward(logits, targets: codes)
            let values = logits.array
            prior.backward(loss.backward())
            return values + Array(UnsafeBufferPointer(start: store.gradients, count: store.count))
        }
    }

    private func run(bottom recompute: Bool) -> [[Float]] {
        let store = ParameterStore()
        let config = tinyPriorConfig(dropout: 0.2)
        let prior = BottomPrior(store, name: "bottom", config: config, height: height, width: width)
        store.materialize(seed: 3)
        prior.recomputesGatedLayers = recompute
        let codes = randomCodes(batch * height * width, below: config.codebookSize, seed: 1)
        let topCodes = randomCodes(batch * (height / 2) * (width / 2), below: config.codebookSize, seed: 2)
        let loss = SoftmaxCrossEntropy()
        return (0..<2).map { _ in
            store.zeroGradients()
            let logits = prior.forward(codes: codes, topCodes: topCodes, labels: labels, batch: batch, dropout: dropout)
            _ = loss.forward(logits, targets: codes)
            let values = logits.array
            prior.backward(loss.backward())
            return values + Array(UnsafeBufferPointer(start: store.gradients, count: store.count))
        }
    }

    func testTheTopPriorRecomputesTheSameLogitsAndGradients() {
        let plain = run(top: false), recomputed = run(top: true)
        XCTAssertEqual(recomputed[0], plain[0])
        XCTAssertEqual(recomputed[1], plain[1])
        XCTAssertTrue(plain[0].contains { $0 != 0 })
    }

    func testTheBottomPriorRecomputesTheSameLogitsAndGradients() {
        let plain = run(bottom: false), recomputed = run(bottom: true)
        XCTAssertEqual(recomputed[0], plain[0])
        XCTAssertEqual(recomputed[1], plain[1])
        XCTAssertTrue(plain[0].contains { $0 != 0 })
    }

    /// The bytes allocated before and after the first training forward of a prior whose residual branches are
    /// wide, as the paper's are: the recomputing forward holds under half as much.
    func testTheRecomputingForwardHoldsLessMemory() {
        var config = tinyPriorConfig(dropout: 0.1)
        config.channels = 32
        config.residualUnits = 256
        config.layers = 6
        func heldByForward(_ recompute: Bool) -> Int {
            let store = ParameterStore()
            let prior = TopPrior(store, name: "top", config: config, height: 32, width: 32)
            store.materialize(seed: 5)
            prior.recomputesGatedLayers = recompute
            let codes = randomCodes(batch * 32 * 32, below: config.codebookSize, seed: 1)
            let before = TestEnvironment.allocatedBytes()
            _ = prior.forward(codes: codes, labels: labels, batch: batch, dropout: dropout)
            return TestEnvironment.allocatedBytes() - before
        }
        let plain = heldByForward(false), recomputed = heldByForward(true)
        XCTAssertGreaterThan(plain, 20 << 20, "the plain forward held \(plain) bytes")
        XCTAssertLessThan(recomputed * 2, plain, "forward held \(recomputed) bytes recomputing, \(plain) plain")
    }
}
