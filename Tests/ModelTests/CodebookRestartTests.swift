import Numerics
import XCTest
@testable import Model

final class CodebookRestartTests: XCTestCase {
    private let k = 16, d = 4, vectors = 256

    /// A batch of vectors around 16 well-separated centres (fresh noise per step).
    private func batch(step: Int) -> Tensor {
        let centres = randomTensor([k, d], seed: 77, scale: 4)
        let noise = randomTensor([vectors, d], seed: 100 + UInt64(step), scale: 0.1)
        for r in 0..<vectors {
            for j in 0..<d { noise.data[r * d + j] += centres.data[(r % k) * d + j] }
        }
        return noise
    }

    /// Code 0 at the data mean holding every count, the others far from the data with almost no count: the state
    /// a badly started codebook collapses to.
    private func collapsedQuantizer() -> EMAQuantizer {
        let q = EMAQuantizer(
            numCodes: k, dimension: d, seed: 5, level: .bottom, decay: 0.99, epsilon: 1e-5, deadCodeThreshold: 1)
        let data = batch(step: 0)
        var mean = [Float](repeating: 0, count: d)
        for r in 0..<vectors { for j in 0..<d { mean[j] += data.data[r * d + j] / Float(vectors) } }
        let rows = (0..<k).flatMap { _ in mean }
        rows.withUnsafeBufferPointer { q.initialize(selected: $0.baseAddress!, candidateCount: vectors) }
        for i in 0..<k {
            q.counts[i] = i == 0 ? Float(vectors) : 1e-3
            for j in 0..<d {
                if i > 0 { q.codebook[i * d + j] = 100 + Float(i) }
                q.sums[i * d + j] = q.counts[i] * q.codebook[i * d + j]
            }
        }
        return q
    }

    /// Runs `steps` EMA steps on fresh batches; returns the usage after each.
    private func train(_ q: EMAQuantizer, steps: Int, restarts: Bool) -> [CodebookUsage] {
        var statistics = [Float](repeating: 0, count: q.statisticsCount)
        var usages: [CodebookUsage] = []
        for step in 1...steps {
            let z = batch(step: step)
            _ = q.forward(z)
            for i in statistics.indices { statistics[i] = 0 }
            statistics.withUnsafeMutableBufferPointer { q.accumulateStatistics(into: $0.baseAddress!) }
            statistics.withUnsafeBufferPointer { q.applyUpdate(from: $0.baseAddress!) }
            usages.append(statistics.withUnsafeBufferPointer { q.usage(from: $0.baseAddress!) })
            if restarts { q.restartDeadCodes(from: z.data, count: vectors) }
        }
        return usages
    }

    func testRestartsRecoverACollapsedCodebook() {
        let q = collapsedQuantizer()
        XCTAssertEqual(q.deadCodes().count, k - 1)
        let usages = train(q, steps: 8, restarts: true)
        XCTAssertEqual(usages[0].usedCodes, 1, "the first batch still sees the collapsed codebook")
        XCTAssertGreaterThanOrEqual(usages.last!.usedCodes, k * 3 / 4, "\(usages.map(\.usedCodes))")
        XCTAssertGreaterThan(usages.last!.perplexity, Double(k) / 2)
        XCTAssertGreaterThanOrEqual(usages.last!.liveCodes, k * 3 / 4)
        XCTAssertTrue(q.codebook.allSatisfy { $0.isFinite })
    }

    func testWithoutRestartsTheCodebookStaysCollapsed() {
        let q = collapsedQuantizer()
        let usages = train(q, steps: 8, restarts: false)
        XCTAssertTrue(usages.allSatisfy { $0.usedCodes == 1 && $0.liveCodes == 1 }, "\(usages.map(\.usedCodes))")
        XCTAssertEqual(usages.last!.perplexity, 1, accuracy: 1e-9)
    }

    /// Ranks that hold the same state and candidates restart the same codes from the same vectors; the choice
    /// moves on with the update count.
    func testRestartChoicesAgreeAcrossCopiesAndChangeWithTheStep() {
        let a = collapsedQuantizer(), b = collapsedQuantizer()
        let z = batch(step: 1)
        let first = a.restartPositions(candidateCount: vectors)
        XCTAssertEqual(first.codes, Array(1..<k))
        XCTAssertEqual(Set(first.positions).count, k - 1, "distinct candidates")
        a.restartDeadCodes(from: z.data, count: vectors)
        b.restartDeadCodes(from: z.data, count: vectors)
        XCTAssertEqual(Array(a.codebook), Array(b.codebook))
        XCTAssertEqual(Array(a.counts), Array(b.counts))
        XCTAssertEqual(Array(a.sums), Array(b.sums))
        XCTAssertTrue(a.deadCodes().isEmpty)
        for code in first.codes { XCTAssertEqual(a.counts[code], a.deadCodeThreshold) }

        let c = collapsedQuantizer()
        c.updateCount = 1
        XCTAssertNotEqual(c.restartPositions(candidateCount: vectors).positions, first.positions)
    }
}
