import Numerics
import TestSupport
import XCTest
@testable import Model

/// Gradient and EMA-statistics accumulation over micro-batches: a then b must give exactly a + b, the sum a
/// two-rank all-reduce forms, so that one rank with two micro-batches reproduces two ranks bit for bit.
final class MicroBatchTests: XCTestCase {
    private struct Accumulated {
        var gradients: [Float]
        var statistics: [Float]
    }

    private func run(_ model: VQVAE, _ batches: [Tensor], scale: Float = 1) -> Accumulated {
        model.store.zeroGradients()
        model.emaStatistics.update(repeating: 0)
        for images in batches {
            _ = model.forward(images, training: true)
            model.backward(scale: scale)
        }
        return Accumulated(
            gradients: Array(UnsafeBufferPointer(start: model.store.gradients, count: model.store.count)),
            statistics: Array(model.emaStatistics))
    }

    func testTwoMicroBatchesAccumulateExactlyTheSumOfTheirParts() throws {
        let model = try makeModel(tinyConfig(imageSize: 16), seed: 8)
        let images = shapeImages(count: 4, size: 16)
        model.initializeCodebooks(from: images)
        let first = slice(images, from: 0, count: 2), second = slice(images, from: 2, count: 2)

        let a = run(model, [first])
        let b = run(model, [second])
        let both = run(model, [first, second])
        XCTAssertEqual(both.gradients, zip(a.gradients, b.gradients).map { $0 + $1 }, "gradients")
        XCTAssertEqual(both.statistics, zip(a.statistics, b.statistics).map { $0 + $1 }, "EMA statistics")
        XCTAssertGreaterThan(a.gradients.map(abs).max()!, 0)

        // Two halves, each weighted 1/2, are the whole batch's mean loss up to summation order.
        let whole = run(model, [images])
        let halves = run(model, [first, second], scale: 0.5)
        assertClose(halves.gradients, whole.gradients, relative: 1e-4, absolute: 1e-7, "halves against the whole")
        assertClose(both.statistics, whole.statistics, relative: 1e-5, "statistics against the whole batch")
        let codes = model.top.statisticsCount
        XCTAssertEqual(Array(both.statistics[0..<model.config.codebookSize]),
                       Array(whole.statistics[0..<model.config.codebookSize]), "top counts are exact")
        XCTAssertEqual(both.statistics[codes..<(codes + model.config.codebookSize)].reduce(0, +), Float(4 * 4 * 4),
                       "one bottom count per bottom position")
    }

    func testTheEMAUpdateClearsTheLocalStatistics() throws {
        let model = try makeModel(tinyConfig(imageSize: 16), seed: 8)
        let images = shapeImages(count: 2, size: 16)
        model.initializeCodebooks(from: images)
        _ = model.forward(images, training: true)
        let usage = model.applyEMAUpdate()
        XCTAssertTrue(model.emaStatistics.allSatisfy { $0 == 0 })
        XCTAssertEqual(model.top.updateCount, 1)
        XCTAssertEqual(model.bottom.updateCount, 1)
        XCTAssertGreaterThan(usage.top.usedCodes, 0)
        XCTAssertGreaterThanOrEqual(usage.bottom.perplexity, 1)
        _ = model.forward(images, training: false)
        XCTAssertTrue(model.emaStatistics.allSatisfy { $0 == 0 }, "evaluation adds no statistics")
    }
}
