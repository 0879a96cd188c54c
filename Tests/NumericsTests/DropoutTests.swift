import Numerics
import TestSupport
import XCTest

final class DropoutTests: XCTestCase {
    /// The kept/dropped pattern of a forward on an all-ones input: 0 or 1/(1-p) per element.
    private func mask(
        _ layer: Dropout, samples: Int, firstSample: Int, step: Int = 3, seed: UInt64 = 42
    ) -> [Float] {
        let ones = Tensor(shape: [samples, 3, 5, 7], values: Array(repeating: 1, count: samples * 105))
        return layer.forward(ones, seed: seed, step: step, firstSample: firstSample, training: true).array
    }

    func testMaskDependsOnGlobalSampleNotOnBatchSplit() {
        let layer = Dropout(probability: 0.3, layerId: 9)
        let whole = mask(layer, samples: 4, firstSample: 0)
        let secondHalf = mask(layer, samples: 2, firstSample: 2)
        XCTAssertEqual(Array(whole[210...]), secondHalf)
        let firstHalf = mask(layer, samples: 2, firstSample: 0)
        XCTAssertEqual(Array(whole[..<210]), firstHalf)
        XCTAssertNotEqual(Array(whole[..<105]), Array(whole[105..<210]), "samples share a mask")
    }

    func testMaskMatchesTheCounterStream() {
        let p: Float = 0.25
        let layer = Dropout(probability: p, layerId: 5)
        let values = mask(layer, samples: 2, firstSample: 7, step: 11, seed: 99)
        for s in 0..<2 {
            let random = CounterRandom(seed: 99, purpose: .dropout, keys: [5, 11, UInt64(7 + s)])
            for e in 0..<105 {
                let expected: Float = random.uniform(UInt64(e)) < p ? 0 : 1 / (1 - p)
                XCTAssertEqual(values[s * 105 + e], expected, "sample \(s) element \(e)")
            }
        }
    }

    func testMasksDifferByLayerStepAndSeed() {
        let a = mask(Dropout(probability: 0.5, layerId: 1), samples: 1, firstSample: 0)
        XCTAssertNotEqual(a, mask(Dropout(probability: 0.5, layerId: 2), samples: 1, firstSample: 0))
        XCTAssertNotEqual(a, mask(Dropout(probability: 0.5, layerId: 1), samples: 1, firstSample: 0, step: 4))
        XCTAssertNotEqual(a, mask(Dropout(probability: 0.5, layerId: 1), samples: 1, firstSample: 0, seed: 43))
    }

    func testRateAndInvertedScaling() {
        let p: Float = 0.1
        let layer = Dropout(probability: p, layerId: 0)
        let ones = Tensor(shape: [8, 25, 50], values: Array(repeating: 1, count: 10_000))
        let y = layer.forward(ones, seed: 1, step: 0, firstSample: 0, training: true).array
        let dropped = y.filter { $0 == 0 }.count
        XCTAssertEqual(Double(dropped) / 10_000, 0.1, accuracy: 0.01)
        XCTAssertTrue(y.allSatisfy { $0 == 0 || $0 == 1 / (1 - p) })
        let mean = y.reduce(0, +) / 10_000
        XCTAssertEqual(mean, 1, accuracy: 0.02)
    }

    func testIdentityWhenNotTraining() {
        let layer = Dropout(probability: 0.5, layerId: 3)
        let x = randomTensor([2, 3, 5, 3], seed: 18)
        XCTAssertEqual(layer.forward(x, seed: 1, step: 2, firstSample: 0, training: false).array, x.array)
        let (_, dy) = upstream(x.shape)
        XCTAssertEqual(layer.backward(dy).array, dy.array)
    }

    func testGradientAgainstFiniteDifferences() {
        let layer = Dropout(probability: 0.4, layerId: 8)
        let x = randomTensor([3, 3, 5, 3], seed: 19)
        let y = layer.forward(x, seed: 5, step: 1, firstSample: 6, training: true)
        let (w, dy) = upstream(y.shape)
        let dx = layer.backward(dy).array
        checkGradient("dropout", target: x.data, count: x.count, analytic: dx, weights: w) {
            layer.forward(x, seed: 5, step: 1, firstSample: 6, training: true)
        }
    }
}
