@testable import Model
import Numerics
import TestSupport
import XCTest

/// The incremental sampler against the full-map forward, by teacher forcing: the network is run once on the
/// finished code map the sampler drew, and at every position its logits must equal the ones the sampler drew
/// from, and the code drawn must be the code those reference logits give for the same uniform number.
///
/// Tolerances: logits within 1e-4 x max(1, max |logit|); a drawn code may differ from the reference's only where
/// the uniform lies within 1e-5 (relative) of a step of the reference's CDF, and such positions are printed and
/// allowed on at most 0.5% of positions.
final class IncrementalSamplerTests: XCTestCase {
    /// Residual branches 12 wide beside stacks of 8, so that a row's horizontal bias has a width of its own.
    private func config(first: Int, kernel: Int, attentionEvery: Int = 0, layers: Int = 3) -> PriorConfig {
        PriorConfig(
            codebookSize: 7, classes: 3, channels: 8, residualUnits: 12, layers: layers, firstKernel: first, kernel: kernel,
            attentionEvery: attentionEvery, heads: 2, dropout: 0, outputLayers: 2, conditioningLayers: 1,
            conditioningChannels: 5)
    }

    func testTopPriorWithAttentionKernelsThree() throws {
        try checkTop(config(first: 3, kernel: 3, attentionEvery: 1), height: 4, width: 5)
    }

    func testTopPriorWithAttentionEveryOtherLayerKernelsFive() throws {
        try checkTop(config(first: 5, kernel: 5, attentionEvery: 2, layers: 4), height: 5, width: 4)
    }

    func testTopPriorWithoutAttentionKernelsSevenThenThree() throws {
        try checkTop(config(first: 7, kernel: 3), height: 6, width: 7)
    }

    func testBottomPriorWithConditioningKernelsThree() throws {
        try checkBottom(config(first: 3, kernel: 3), height: 6, width: 8)
    }

    func testBottomPriorWithConditioningKernelsFiveThenSeven() throws {
        try checkBottom(config(first: 5, kernel: 7), height: 8, width: 6)
    }

    func testGreedyDrawsAreTheReferenceArgMax() throws {
        try checkTop(config(first: 5, kernel: 3, attentionEvery: 2), height: 4, width: 4, temperature: 0)
        try checkBottom(config(first: 3, kernel: 5), height: 6, width: 6, temperature: 0)
    }

    /// The sampler it replaced, kept as the benchmark's baseline, draws the same codes (the same streams, logits
    /// equal up to rounding), so the benchmark compares like with like.
    func testTheRecomputingBaselineDrawsTheSameCodes() throws {
        let topStore = ParameterStore(), bottomStore = ParameterStore()
        let top = TopPrior(topStore, name: "top", config: config(first: 5, kernel: 3, attentionEvery: 2), height: 3, width: 4)
        let bottom = BottomPrior(bottomStore, name: "bottom", config: config(first: 3, kernel: 3), height: 6, width: 8)
        topStore.materialize(seed: 4)
        bottomStore.materialize(seed: 5)
        let labels: [Int32] = [2, 0, 1]
        let incremental = try PriorSampler.sample(top: top, bottom: bottom, labels: labels, temperature: 1, seed: 9)
        let recomputed = RecomputingSampler.sample(top: top, bottom: bottom, labels: labels, temperature: 1, seed: 9)
        XCTAssertEqual(incremental.top, recomputed.top)
        XCTAssertEqual(incremental.bottom, recomputed.bottom)
        let firstRows = RecomputingSampler.sample(
            top: top, bottom: bottom, labels: labels, temperature: 1, seed: 9, rows: 2)
        XCTAssertEqual(Array(firstRows.top[0..<8]), Array(incremental.top[0..<8]), "the first two rows of the top map")
    }

    // MARK: Checks

    private func checkTop(_ config: PriorConfig, height: Int, width: Int, temperature: Float = 1) throws {
        let store = ParameterStore()
        let prior = TopPrior(store, name: "top", config: config, height: height, width: width)
        store.materialize(seed: 11)
        let labels: [Int32] = [0, 2, 1]
        let (codes, logits) = try sample(
            prior.network, height: height, labels: labels, conditioning: nil, temperature: temperature,
            purpose: .topSampling)
        let reference = prior.forward(codes: codes, labels: labels, batch: labels.count, dropout: nil)
        compare(logits, reference, codes: codes, temperature: temperature, purpose: .topSampling, width: width)
    }

    private func checkBottom(_ config: PriorConfig, height: Int, width: Int, temperature: Float = 1) throws {
        let store = ParameterStore()
        let prior = BottomPrior(store, name: "bottom", config: config, height: height, width: width)
        store.materialize(seed: 12)
        let labels: [Int32] = [1, 0]
        let top = randomCodes(labels.count * height * width / 4, below: config.codebookSize, seed: 13)
        let conditioning = Tensor(shape: [0])
        conditioning.copy(from: prior.conditioningFeatures(topCodes: top, batch: labels.count))
        let (codes, logits) = try sample(
            prior.network, height: height, labels: labels, conditioning: conditioning, temperature: temperature,
            purpose: .bottomSampling)
        let reference = prior.forward(codes: codes, topCodes: top, labels: labels, batch: labels.count, dropout: nil)
        compare(logits, reference, codes: codes, temperature: temperature, purpose: .bottomSampling, width: width)
    }

    private let seed: UInt64 = 21

    /// The sampler's codes and the logits it drew each position from, [N, H, W, K] in raster order.
    private func sample(
        _ network: GatedPixelCNN, height: Int, labels: [Int32], conditioning: Tensor?, temperature: Float,
        purpose: RandomPurpose
    ) throws -> ([Int32], [Float]) {
        let batch = labels.count, area = height * network.width, k = network.config.codebookSize
        var logits = [Float](repeating: .nan, count: batch * area * k)
        var steps = 0
        let codes = try PriorSampler.sampleRaster(
            network, height: height, labels: labels, conditioning: conditioning, temperature: temperature,
            seed: seed, purpose: purpose, samples: nil, step: { done, total in
                steps += 1
                XCTAssertEqual(done, steps)
                XCTAssertEqual(total, area)
            },
            observe: { p, tensor in
                XCTAssertEqual(tensor.shape, [batch, 1, 1, k])
                for n in 0..<batch {
                    for j in 0..<k { logits[(n * area + p) * k + j] = tensor.data[n * k + j] }
                }
            })
        XCTAssertEqual(steps, area, "one step per position")
        return (codes, logits)
    }

    private func compare(
        _ logits: [Float], _ reference: Tensor, codes: [Int32], temperature: Float, purpose: RandomPurpose, width: Int
    ) {
        let k = reference.c, positions = codes.count, area = positions / reference.n
        XCTAssertEqual(logits.count, reference.count)
        let largest = reference.array.map { abs(Double($0)) }.max() ?? 0
        var worst = 0.0
        for i in 0..<min(logits.count, reference.count) { worst = max(worst, abs(Double(logits[i] - reference.data[i]))) }
        XCTAssertLessThanOrEqual(worst, 1e-4 * max(1, largest), "largest logit difference (largest logit \(largest))")
        var nearSteps = 0
        for s in 0..<positions {
            let n = s / area, p = s % area
            let uniform = CounterRandom(seed: seed, purpose: purpose, keys: [UInt64(n)]).uniform(UInt64(p))
            let row = reference.data + s * k
            let expected = PriorSampler.draw(row, count: k, temperature: temperature, uniform: uniform)
            guard codes[s] != expected else { continue }
            let margin = cdfMargin(row, count: k, temperature: temperature, uniform: uniform)
            if margin < 1e-5 {
                nearSteps += 1
                print("sample \(n) position (\(p / width), \(p % width)): drew \(codes[s]), reference \(expected), margin \(margin)")
            } else {
                XCTFail("sample \(n) position (\(p / width), \(p % width)): drew \(codes[s]), reference \(expected), margin \(margin)")
            }
        }
        XCTAssertLessThanOrEqual(nearSteps * 200, positions, "\(nearSteps) near-step draws of \(positions)")
    }

    /// How close the draw was to another code: at temperature 0 the gap between the two largest logits relative
    /// to the largest; otherwise the distance from the uniform to the nearest step of the CDF.
    private func cdfMargin(_ logits: UnsafePointer<Float>, count k: Int, temperature: Float, uniform: Float) -> Double {
        let values = (0..<k).map { Double(logits[$0]) }
        if temperature == 0 {
            let sorted = values.sorted(by: >)
            return (sorted[0] - sorted[1]) / max(abs(sorted[0]), 1e-30)
        }
        let largest = values.max()!
        let weights = values.map { exp(($0 - largest) / Double(temperature)) }
        let total = weights.reduce(0, +)
        var cumulative = 0.0, margin = Double.infinity
        for w in weights {
            cumulative += w
            margin = min(margin, abs(cumulative / total - Double(uniform)))
        }
        return margin
    }
}
