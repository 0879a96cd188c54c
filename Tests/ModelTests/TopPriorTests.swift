import Model
import Numerics
import TestSupport
import XCTest

final class TopPriorTests: XCTestCase {
    private func makePrior(
        _ config: PriorConfig, height: Int, width: Int, seed: UInt64 = 3
    ) -> (ParameterStore, TopPrior) {
        let store = ParameterStore()
        let prior = TopPrior(store, name: "top", config: config, height: height, width: width)
        store.materialize(seed: seed)
        return (store, prior)
    }

    func testConfigValidationNamesTheField() {
        XCTAssertNoThrow(try PriorConfig.small.validate())
        XCTAssertNoThrow(try PriorConfig.paperTop.validate())
        XCTAssertNoThrow(try PriorConfig.paperBottom.validate())
        let small = PriorConfig.small
        XCTAssertEqual(
            [small.layers, small.channels, small.firstKernel, small.kernel, small.classes, small.codebookSize],
            [10, 128, 7, 3, 10, 512])
        func field(_ change: (inout PriorConfig) -> Void) -> String? {
            var config = PriorConfig.small
            change(&config)
            do { try config.validate() } catch let error as PriorConfigError { return error.field } catch { return nil }
            return "valid"
        }
        XCTAssertEqual(field { $0.heads = 3 }, "heads")
        XCTAssertEqual(field { $0.heads = 0 }, "heads")
        XCTAssertEqual(field { $0.kernel = 4 }, "kernel")
        XCTAssertEqual(field { $0.firstKernel = 6 }, "firstKernel")
        XCTAssertEqual(field { $0.firstKernel = 1 }, "firstKernel")
        XCTAssertEqual(field { $0.dropout = 1 }, "dropout")
        XCTAssertEqual(field { $0.codebookSize = 1 }, "codebookSize")
        XCTAssertEqual(field { $0.classes = 0 }, "classes")
        XCTAssertEqual(field { $0.layers = 0 }, "layers")
        XCTAssertEqual(field { $0.attentionEvery = -1 }, "attentionEvery")
        XCTAssertEqual(field { $0.outputLayers = 0 }, "outputLayers")
        XCTAssertEqual(field { $0.conditioningLayers = -1 }, "conditioningLayers")
        XCTAssertEqual(field { $0.conditioningChannels = 0 }, "conditioningChannels")
        XCTAssertTrue("\(PriorConfigError(field: "heads", reason: "x"))".contains("heads"))
    }

    func testParameterCountMatchesFormula() {
        let config = tinyPriorConfig(attentionEvery: 2)
        let (store, _) = makePrior(config, height: 3, width: 4)
        let formula = expectedParameterCount(config, attention: true, conditioning: false)
        XCTAssertEqual(store.count, formula)
        // Written out for this config (C=4, R=6, K=6, 3 classes, 3 layers, k=3, attention after layer 1, output 2):
        // vconv, hconv, link, class tables (vertical 2C, horizontal 2R wide), proj.
        let c = 4, k = 6
        let layer0 = (8 * 1 * 3 * c + 8) + (12 * 1 * c + 12) + 8 * 12 + 3 * (8 + 12) + (6 * c + 4)
        let layer1 = (8 * 2 * 3 * c + 8) + (12 * 2 * c + 12) + 8 * 12 + 3 * (8 + 12) + (6 * c + 4)
        let layer2 = (8 * 2 * 3 * c + 8) + (12 * 2 * c + 12) + 8 * 12 + 3 * 12 + (6 * c + 4)
        let attention = (3 * c * c + 3 * c) + (c * c + c)
        let output = (c * c + c) + (c * k + k)
        XCTAssertEqual(store.count, k * c + layer0 + layer1 + layer2 + attention + output)
    }

    func testSmallConfigBuildsAtBenchmarkSize() {
        let store = ParameterStore()
        _ = TopPrior(store, name: "top", config: .small, height: 8, width: 8)
        XCTAssertEqual(store.count, expectedParameterCount(.small, attention: true, conditioning: false))
    }

    func testLogitsAtAPositionIgnoreCodesAtAndAfterIt() {
        var wideKernels = tinyPriorConfig(attentionEvery: 2)
        wideKernels.firstKernel = 5
        wideKernels.kernel = 5
        for config in [tinyPriorConfig(), tinyPriorConfig(attentionEvery: 1), wideKernels] {
            let height = 4, width = 5, batch = 2
            let (_, prior) = makePrior(config, height: height, width: width)
            XCTAssertEqual(prior.forward(codes: randomCodes(batch * height * width, below: 6, seed: 1),
                                         labels: [0, 2], batch: batch, dropout: nil).shape, [batch, height, width, 6])
            assertCausal(height: height, width: width, batch: batch, k: 6, positions: [0, 1, 4, 5, 7, 12, 19]) {
                prior.forward(codes: $0, labels: [0, 2], batch: batch, dropout: nil).array
            }
        }
    }

    func testDropoutKeepsCausality() {
        let height = 3, width = 4, batch = 2
        let (_, prior) = makePrior(tinyPriorConfig(attentionEvery: 1, dropout: 0.3), height: height, width: width)
        let context = DropoutContext(seed: 9, step: 4, firstSample: 6)
        assertCausal(height: height, width: width, batch: batch, k: 6, positions: [0, 2, 5, 9]) {
            prior.forward(codes: $0, labels: [1, 1], batch: batch, dropout: context).array
        }
    }

    func testClassLabelChangesLogits() {
        let (_, prior) = makePrior(tinyPriorConfig(attentionEvery: 1), height: 3, width: 3)
        let codes = randomCodes(9, below: 6, seed: 2)
        let a = prior.forward(codes: codes, labels: [0], batch: 1, dropout: nil).array
        let b = prior.forward(codes: codes, labels: [1], batch: 1, dropout: nil).array
        // Every position, the first included, sees the class.
        for p in 0..<9 { XCTAssertNotEqual(Array(a[(p * 6)..<(p * 6 + 6)]), Array(b[(p * 6)..<(p * 6 + 6)])) }
    }

    func testGradientsMatchFiniteDifferences() {
        // Attention after layer 1 only, then after every layer (the first and the last included).
        for (attentionEvery, dropout) in [(2, Float(0)), (2, 0.3), (1, 0.3)] {
            let config = tinyPriorConfig(attentionEvery: attentionEvery, dropout: dropout)
            let (store, prior) = makePrior(config, height: 3, width: 4)
            let codes = randomCodes(2 * 12, below: 6, seed: 4)
            let context = dropout > 0 ? DropoutContext(seed: 1, step: 2, firstSample: 3) : nil
            checkPriorGradients(store, forward: {
                prior.forward(codes: codes, labels: [2, 0], batch: 2, dropout: context)
            }, backward: prior.backward)
        }
    }

    func testOverfitsFourMapsAndReportsNLL() {
        let height = 4, width = 4, batch = 4, k = 16
        let (store, prior) = makePrior(learningPriorConfig(attentionEvery: 2), height: height, width: width)
        let codes = randomCodes(batch * height * width, below: k, seed: 8)
        let labels: [Int32] = [0, 1, 2, 3]
        let initial = prior.negativeLogLikelihood(codes: codes, labels: labels, batch: batch)
        XCTAssertEqual(initial.count, batch * height * width)
        XCTAssertEqual(initial.bitsPerPosition, initial.natsPerPosition / log(2), accuracy: 1e-9)
        let loss = SoftmaxCrossEntropy()
        let final = trainWithAdam(store, steps: 300, lr: 3e-3) {
            let nll = loss.forward(
                prior.forward(codes: codes, labels: labels, batch: batch, dropout: nil), targets: codes)
            prior.backward(loss.backward())
            return nll.natsPerPosition
        }
        let trained = prior.negativeLogLikelihood(codes: codes, labels: labels, batch: batch)
        XCTAssertGreaterThan(initial.natsPerPosition, 1.5)
        XCTAssertLessThan(final, 0.05)
        XCTAssertLessThan(trained.natsPerPosition, 0.05)
        XCTAssertEqual(trained.sum, trained.natsPerPosition * Double(batch * height * width), accuracy: 1e-9)
        // An overfit prior at a low temperature reproduces each class's map.
        XCTAssertEqual(try prior.sample(labels: labels, temperature: 0.05, seed: 3), codes)
        XCTAssertEqual(try prior.sample(labels: [2], temperature: 0, seed: 3), Array(codes[32..<48]))
    }
}
