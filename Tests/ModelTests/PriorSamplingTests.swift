@testable import Model
import Numerics
import TestSupport
import XCTest

final class PriorSamplingTests: XCTestCase {
    private let k = 6

    private func makePriors(seed: UInt64 = 3) -> (TopPrior, BottomPrior) {
        let topStore = ParameterStore(), bottomStore = ParameterStore()
        let top = TopPrior(topStore, name: "top", config: tinyPriorConfig(attentionEvery: 2), height: 3, width: 4)
        let bottom = BottomPrior(bottomStore, name: "bottom", config: tinyPriorConfig(), height: 6, width: 8)
        topStore.materialize(seed: seed)
        bottomStore.materialize(seed: seed + 1)
        return (top, bottom)
    }

    func testSamplesAreValidCodesAndDeterministicForASeed() throws {
        let (top, bottom) = makePriors()
        let labels: [Int32] = [0, 1, 2]
        let first = try PriorSampler.sample(top: top, bottom: bottom, labels: labels, temperature: 1, seed: 7)
        XCTAssertEqual(first.top.count, 3 * 3 * 4)
        XCTAssertEqual(first.bottom.count, 3 * 6 * 8)
        XCTAssertTrue(first.top.allSatisfy { $0 >= 0 && $0 < Int32(k) })
        XCTAssertTrue(first.bottom.allSatisfy { $0 >= 0 && $0 < Int32(k) })
        let again = try PriorSampler.sample(top: top, bottom: bottom, labels: labels, temperature: 1, seed: 7)
        XCTAssertEqual(first.top, again.top)
        XCTAssertEqual(first.bottom, again.bottom)
        let other = try PriorSampler.sample(top: top, bottom: bottom, labels: labels, temperature: 1, seed: 8)
        XCTAssertNotEqual(first.top + first.bottom, other.top + other.bottom)
    }

    func testASampleDoesNotDependOnTheOtherSamplesInItsBatch() throws {
        let (top, bottom) = makePriors()
        let batch = try PriorSampler.sample(
            top: top, bottom: bottom, labels: [0, 1, 2, 1], temperature: 1, seed: 5, samples: [10, 11, 12, 13])
        let alone = try PriorSampler.sample(top: top, bottom: bottom, labels: [2], temperature: 1, seed: 5, samples: [12])
        XCTAssertEqual(alone.top, Array(batch.top[24..<36]))
        XCTAssertEqual(alone.bottom, Array(batch.bottom[96..<144]))
    }

    /// At temperature 0 every sampled code must be the arg max of the full-map logits of the finished map at its
    /// position: those logits depend only on earlier codes, which were final when the code was drawn. Covers the
    /// top prior with and without attention and the bottom prior with its conditioning (IncrementalSamplerTests
    /// compare every logit).
    func testGreedySamplesAreTheArgMaxOfFullMapLogits() throws {
        let (top, bottom) = makePriors()
        let labels: [Int32] = [2, 0]
        let codes = try PriorSampler.sample(top: top, bottom: bottom, labels: labels, temperature: 0, seed: 1)
        func assertArgMax(_ logits: Tensor, _ codes: [Int32], _ level: String) {
            XCTAssertEqual(logits.count, codes.count * k)
            for p in 0..<codes.count {
                let row = Array(logits.array[(p * k)..<((p + 1) * k)])
                XCTAssertEqual(Int(codes[p]), row.indices.max { row[$0] < row[$1] }, "\(level) position \(p)")
            }
        }
        assertArgMax(top.forward(codes: codes.top, labels: labels, batch: 2, dropout: nil), codes.top, "top")
        assertArgMax(
            bottom.forward(codes: codes.bottom, topCodes: codes.top, labels: labels, batch: 2, dropout: nil),
            codes.bottom, "bottom")

        let store = ParameterStore()
        let plainTop = TopPrior(store, name: "top", config: tinyPriorConfig(), height: 4, width: 5)
        store.materialize(seed: 6)
        let plainCodes = try plainTop.sample(labels: labels, temperature: 0, seed: 1)
        assertArgMax(
            plainTop.forward(codes: plainCodes, labels: labels, batch: 2, dropout: nil), plainCodes,
            "top, no attention")
    }

    /// On a 1x1 map the only position's distribution is softmax(logits / T) of the class alone.
    func testDrawsFollowTheTemperedSoftmax() throws {
        let store = ParameterStore()
        let prior = TopPrior(store, name: "top", config: tinyPriorConfig(), height: 1, width: 1)
        store.materialize(seed: 2)
        let logits = prior.forward(codes: [0], labels: [1], batch: 1, dropout: nil).array
        let count = 4000
        for temperature in [Float(1), 0.5] {
            let codes = try prior.sample(labels: Array(repeating: 1, count: count), temperature: temperature, seed: 9)
            let scaled = logits.map { Double($0 / temperature) }
            let largest = scaled.max()!
            let weights = scaled.map { exp($0 - largest) }
            let total = weights.reduce(0, +)
            for j in 0..<k {
                let expected = weights[j] / total
                let observed = Double(codes.filter { $0 == j }.count) / Double(count)
                // Four standard deviations of a binomial frequency.
                let deviation = (expected * (1 - expected) / Double(count)).squareRoot()
                XCTAssertEqual(
                    observed, expected, accuracy: 4 * deviation + 1e-3, "code \(j) at temperature \(temperature)")
            }
        }
    }
}
