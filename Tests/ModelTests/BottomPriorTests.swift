import Model
import Numerics
import TestSupport
import XCTest

final class BottomPriorTests: XCTestCase {
    private func makePrior(
        _ config: PriorConfig, height: Int, width: Int, seed: UInt64 = 3
    ) -> (ParameterStore, BottomPrior) {
        let store = ParameterStore()
        let prior = BottomPrior(store, name: "bottom", config: config, height: height, width: width)
        store.materialize(seed: seed)
        return (store, prior)
    }

    func testParameterCountMatchesFormula() {
        let config = tinyPriorConfig(attentionEvery: 1)
        let (store, _) = makePrior(config, height: 4, width: 6)
        // Attention is a top-prior feature: the bottom prior ignores attentionEvery.
        XCTAssertEqual(store.count, expectedParameterCount(config, attention: false, conditioning: true))
        // As in TopPriorTests (C=4, R=6), plus the conditioning projections (vertical 2C, horizontal 2R wide).
        let c = 4, k = 6, cc = 3
        let layer0 = (8 * 1 * 3 * c + 8) + (12 * 1 * c + 12) + 8 * 12 + 3 * (8 + 12) + (6 * c + 4) + cc * (8 + 12)
        let layer1 = (8 * 2 * 3 * c + 8) + (12 * 2 * c + 12) + 8 * 12 + 3 * (8 + 12) + (6 * c + 4) + cc * (8 + 12)
        let layer2 = (8 * 2 * 3 * c + 8) + (12 * 2 * c + 12) + 8 * 12 + 3 * 12 + (6 * c + 4) + cc * 12
        let output = (c * c + c) + (c * k + k)
        let conditioning = k * cc + (cc * 9 * cc + cc) + (cc * cc + cc)
        XCTAssertEqual(store.count, k * c + layer0 + layer1 + layer2 + output + conditioning)
    }

    func testSmallConfigBuildsAtBenchmarkSize() {
        let store = ParameterStore()
        _ = BottomPrior(store, name: "bottom", config: .small, height: 16, width: 16)
        XCTAssertEqual(store.count, expectedParameterCount(.small, attention: false, conditioning: true))
    }

    func testLogitsAtAPositionIgnoreCodesAtAndAfterIt() {
        let height = 4, width = 6, batch = 2
        let (_, prior) = makePrior(tinyPriorConfig(dropout: 0.2), height: height, width: width)
        let topCodes = randomCodes(batch * 2 * 3, below: 6, seed: 6)
        XCTAssertEqual(prior.forward(codes: randomCodes(batch * 24, below: 6, seed: 1), topCodes: topCodes,
                                     labels: [1, 2], batch: batch, dropout: nil).shape, [batch, height, width, 6])
        for context in [nil, DropoutContext(seed: 2, step: 1, firstSample: 0)] {
            assertCausal(height: height, width: width, batch: batch, k: 6, positions: [0, 1, 5, 6, 7, 13, 23]) {
                prior.forward(codes: $0, topCodes: topCodes, labels: [1, 2], batch: batch, dropout: context).array
            }
        }
    }

    func testClassAndTopCodesChangeLogits() {
        let (_, prior) = makePrior(tinyPriorConfig(), height: 4, width: 4)
        let codes = randomCodes(16, below: 6, seed: 2), top = randomCodes(4, below: 6, seed: 3)
        let base = prior.forward(codes: codes, topCodes: top, labels: [0], batch: 1, dropout: nil).array
        let otherClass = prior.forward(codes: codes, topCodes: top, labels: [2], batch: 1, dropout: nil).array
        var otherTop = top
        otherTop[3] = (top[3] + 1) % 6
        let otherTopLogits = prior.forward(codes: codes, topCodes: otherTop, labels: [0], batch: 1, dropout: nil).array
        for p in 0..<16 {
            let row = (p * 6)..<(p * 6 + 6)
            XCTAssertNotEqual(Array(base[row]), Array(otherClass[row]), "class at position \(p)")
        }
        // Top code (1, 1) covers bottom rows 2-3, columns 2-3; through the 3x3 block it reaches every bottom
        // position, the first included.
        for p in 0..<16 {
            let row = (p * 6)..<(p * 6 + 6)
            XCTAssertNotEqual(Array(base[row]), Array(otherTopLogits[row]), "top codes at position \(p)")
        }
    }

    func testGradientsMatchFiniteDifferences() {
        for dropout in [Float(0), 0.3] {
            let (store, prior) = makePrior(tinyPriorConfig(dropout: dropout), height: 4, width: 4)
            let codes = randomCodes(2 * 16, below: 6, seed: 4), top = randomCodes(2 * 4, below: 6, seed: 5)
            let context = dropout > 0 ? DropoutContext(seed: 1, step: 2, firstSample: 3) : nil
            checkPriorGradients(store, forward: {
                prior.forward(codes: codes, topCodes: top, labels: [2, 0], batch: 2, dropout: context)
            }, backward: prior.backward)
        }
    }

    func testOverfitsFourMapsGivenTheirTopCodes() {
        let height = 8, width = 8, batch = 4, k = 16
        let (store, prior) = makePrior(learningPriorConfig(), height: height, width: width)
        let codes = randomCodes(batch * height * width, below: k, seed: 8)
        let top = randomCodes(batch * 16, below: k, seed: 9)
        let labels: [Int32] = [0, 1, 2, 3]
        let initial = prior.negativeLogLikelihood(codes: codes, topCodes: top, labels: labels, batch: batch)
        let loss = SoftmaxCrossEntropy()
        let final = trainWithAdam(store, steps: 300, lr: 3e-3) {
            let nll = loss.forward(
                prior.forward(codes: codes, topCodes: top, labels: labels, batch: batch, dropout: nil), targets: codes)
            prior.backward(loss.backward())
            return nll.natsPerPosition
        }
        let trained = prior.negativeLogLikelihood(codes: codes, topCodes: top, labels: labels, batch: batch)
        XCTAssertGreaterThan(initial.natsPerPosition, 1.5)
        XCTAssertLessThan(final, 0.05)
        XCTAssertLessThan(trained.natsPerPosition, 0.05)
        XCTAssertEqual(
            try prior.sample(topCodes: top, labels: labels, temperature: 0.05, seed: 4), codes)
    }
}
