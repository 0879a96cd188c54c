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

    func testSamplesAreValidCodesAndDeterministicForASeed() {
        let (top, bottom) = makePriors()
        let labels: [Int32] = [0, 1, 2]
        let first = PriorSampler.sample(top: top, bottom: bottom, labels: labels, temperature: 1, seed: 7)
        XCTAssertEqual(first.top.count, 3 * 3 * 4)
        XCTAssertEqual(first.bottom.count, 3 * 6 * 8)
        XCTAssertTrue(first.top.allSatisfy { $0 >= 0 && $0 < Int32(k) })
        XCTAssertTrue(first.bottom.allSatisfy { $0 >= 0 && $0 < Int32(k) })
        let again = PriorSampler.sample(top: top, bottom: bottom, labels: labels, temperature: 1, seed: 7)
        XCTAssertEqual(first.top, again.top)
        XCTAssertEqual(first.bottom, again.bottom)
        let other = PriorSampler.sample(top: top, bottom: bottom, labels: labels, temperature: 1, seed: 8)
        XCTAssertNotEqual(first.top + first.bottom, other.top + other.bottom)
    }

    func testASampleDoesNotDependOnTheOtherSamplesInItsBatch() {
        let (top, bottom) = makePriors()
        let batch = PriorSampler.sample(
            top: top, bottom: bottom, labels: [0, 1, 2, 1], temperature: 1, seed: 5, firstSample: 10)
        let alone = PriorSampler.sample(top: top, bottom: bottom, labels: [2], temperature: 1, seed: 5, firstSample: 12)
        XCTAssertEqual(alone.top, Array(batch.top[24..<36]))
        XCTAssertEqual(alone.bottom, Array(batch.bottom[96..<144]))
    }

    /// At temperature 0 every sampled code must be the arg max of the full-map logits of the finished map at its
    /// position: those logits depend only on earlier codes, which were final when the code was drawn. This checks
    /// the sampler's row-limited forwards and its reuse of the conditioning against plain forwards.
    /// Both ways of sampling are covered: by whole forwards on the rows so far (the top prior with attention) and
    /// by rows with cached vertical stacks (the bottom prior, and a top prior without attention).
    func testGreedySamplesAreTheArgMaxOfFullMapLogits() {
        let (top, bottom) = makePriors()
        let labels: [Int32] = [2, 0]
        let codes = PriorSampler.sample(top: top, bottom: bottom, labels: labels, temperature: 0, seed: 1)
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
        let plainCodes = plainTop.sample(labels: labels, temperature: 0, seed: 1)
        assertArgMax(
            plainTop.forward(codes: plainCodes, labels: labels, batch: 2, dropout: nil), plainCodes,
            "top, no attention")
    }

    /// Sampling by rows runs the first layer on embedded codes (CausalConv2D), a full forward on table lookups
    /// (EmbeddedConvolution): the logits of every row must agree to fp32 rounding.
    func testRowLogitsMatchTheFullMapForward() {
        var config = tinyPriorConfig()
        config.firstKernel = 5
        let store = ParameterStore()
        let batch = 2, height = 4, width = 5, rowSize = width * k
        let prior = TopPrior(store, name: "top", config: config, height: height, width: width)
        store.materialize(seed: 8)
        let labels: [Int32] = [1, 2]
        let codes = randomCodes(batch * height * width, below: k, seed: 9)
        let full = prior.forward(codes: codes, labels: labels, batch: batch, dropout: nil).array
        /// Rows `rows` of every sample of a row-major [N, H, ...] array with `size` values per row.
        func rows<T>(_ values: [T], _ rows: Range<Int>, size: Int) -> [T] {
            var kept: [T] = []
            for n in 0..<batch {
                kept += values[((n * height + rows.lowerBound) * size)..<((n * height + rows.upperBound) * size)]
            }
            return kept
        }
        for r in 0..<height {
            prior.network.prepareRow(
                codes: rows(codes, 0..<(r + 1), size: width), labels: labels, batch: batch, rows: r + 1,
                conditioning: nil)
            let logits = prior.network.forwardRow(
                codes: rows(codes, r..<(r + 1), size: width), labels: labels, batch: batch)
            let expected = rows(full, r..<(r + 1), size: rowSize)
            assertClose(logits.array, expected, relative: 1e-5, "row \(r)")
        }
    }

    /// On a 1x1 map the only position's distribution is softmax(logits / T) of the class alone.
    func testDrawsFollowTheTemperedSoftmax() {
        let store = ParameterStore()
        let prior = TopPrior(store, name: "top", config: tinyPriorConfig(), height: 1, width: 1)
        store.materialize(seed: 2)
        let logits = prior.forward(codes: [0], labels: [1], batch: 1, dropout: nil).array
        let count = 4000
        for temperature in [Float(1), 0.5] {
            let codes = prior.sample(labels: Array(repeating: 1, count: count), temperature: temperature, seed: 9)
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
