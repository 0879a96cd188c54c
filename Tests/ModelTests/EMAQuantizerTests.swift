import Numerics
import TestSupport
import XCTest
@testable import Model

final class EMAQuantizerTests: XCTestCase {
    /// K = 2, D = 2, gamma = 0.5, eps = 0.1 (large, so that the smoothing shows), codes (1, 2) and (3, 4) taken
    /// from a batch of 4 candidates; N starts at the dead-code threshold, 2 here, and m = N e.
    private func handExample() -> EMAQuantizer {
        let q = EMAQuantizer(
            numCodes: 2, dimension: 2, seed: 0, level: .top, decay: 0.5, epsilon: 0.1, deadCodeThreshold: 2)
        [Float](arrayLiteral: 1, 2, 3, 4).withUnsafeBufferPointer {
            q.initialize(selected: $0.baseAddress!, candidateCount: 4)
        }
        return q
    }

    func testInitializationSetsCountsAndSumsConsistentWithTheCodes() {
        let q = handExample()
        XCTAssertEqual(Array(q.codebook), [1, 2, 3, 4])
        XCTAssertEqual(Array(q.counts), [2, 2])
        XCTAssertEqual(Array(q.sums), [2, 4, 6, 8])
        XCTAssertTrue(q.isInitialized)
        XCTAssertEqual(q.updateCount, 0)
    }

    func testStatisticsAndUpdateAgainstAHandComputedExample() {
        let q = handExample()
        // All three vectors are nearest to code 0: n = (3, 0), s_0 = (3, 6), s_1 = 0.
        let z = Tensor(shape: [3, 2], values: [1.1, 2.0, 0.9, 2.1, 1.0, 1.9])
        _ = q.forward(z)
        XCTAssertEqual(q.indices, [0, 0, 0])
        var statistics = [Float](repeating: 0, count: q.statisticsCount)
        statistics.withUnsafeMutableBufferPointer { q.accumulateStatistics(into: $0.baseAddress!) }
        assertClose(statistics, [3, 0, 3, 6, 0, 0], relative: 1e-6, "statistics [n | s]")

        statistics.withUnsafeBufferPointer { q.applyUpdate(from: $0.baseAddress!) }
        // N = 0.5 (2, 2) + 0.5 (3, 0) = (2.5, 1); m_0 = (2.5, 5), m_1 = (3, 4); sum N = 3.5;
        // Ñ_0 = 2.6 / 3.7 * 3.5 = 9.1 / 3.7, Ñ_1 = 1.1 / 3.7 * 3.5 = 3.85 / 3.7.
        XCTAssertEqual(Array(q.counts), [2.5, 1])
        XCTAssertEqual(Array(q.sums), [2.5, 5, 3, 4])
        let expected: [Float] = [2.5 * 3.7 / 9.1, 5 * 3.7 / 9.1, 3 * 3.7 / 3.85, 4 * 3.7 / 3.85]
        assertClose(Array(q.codebook), expected, relative: 1e-6, "codebook")
        // Without smoothing code 0 would be m / N = (1, 2) exactly: the smoothing moved it.
        XCTAssertGreaterThan(q.codebook[0], 1.01)
        XCTAssertEqual(q.updateCount, 1)
    }

    func testLaplaceSmoothedCountsKeepTheTotal() {
        let q = handExample()
        let statistics: [Float] = [7, 1, 7, 14, 3, 4]
        statistics.withUnsafeBufferPointer { q.applyUpdate(from: $0.baseAddress!) }
        // e_i = m_i / Ñ_i, so Ñ_i = m_i / e_i; the smoothed counts sum to sum N and are all positive.
        let smoothed = (0..<2).map { Double(q.sums[$0 * 2]) / Double(q.codebook[$0 * 2]) }
        XCTAssertEqual(smoothed.reduce(0, +), Double(q.counts[0] + q.counts[1]), accuracy: 1e-5)
        XCTAssertLessThan(smoothed[0], Double(q.counts[0]))
        XCTAssertGreaterThan(smoothed[1], Double(q.counts[1]))
    }

    func testANeverUsedCodeStaysFinite() {
        let q = handExample()
        // Code 1 as an unsmoothed update would leave it: no count and no sum.
        q.counts[1] = 0
        q.sums[2] = 0
        q.sums[3] = 0
        let statistics: [Float] = [4, 0, 4, 8, 0, 0]
        for _ in 0..<50 { statistics.withUnsafeBufferPointer { q.applyUpdate(from: $0.baseAddress!) } }
        XCTAssertTrue(q.codebook.allSatisfy { $0.isFinite }, "\(Array(q.codebook))")
        XCTAssertEqual(q.codebook[2], 0)
        XCTAssertEqual(q.codebook[3], 0)
        // N_0 -> 4, m_0 -> (4, 8), N_1 -> 0: Ñ_0 = 4.1 / 4.2 * 4, and Ñ_1 = 0.1 / 4.2 * 4 stays positive.
        assertClose([q.codebook[0], q.codebook[1]], [4.2 / 4.1, 8.4 / 4.1], relative: 1e-5, "the used code")
    }

    func testUsageAndPerplexity() {
        let q = EMAQuantizer(
            numCodes: 4, dimension: 1, seed: 0, level: .top, decay: 0.9, epsilon: 1e-5, deadCodeThreshold: 1)
        [Float](arrayLiteral: 0, 1, 2, 3).withUnsafeBufferPointer {
            q.initialize(selected: $0.baseAddress!, candidateCount: 8)
        }
        let statistics: [Float] = [2, 2, 0, 0, 0, 2, 0, 0]
        let usage = statistics.withUnsafeBufferPointer { q.usage(from: $0.baseAddress!) }
        XCTAssertEqual(usage.usedCodes, 2)
        XCTAssertEqual(usage.usage, 0.5)
        XCTAssertEqual(usage.perplexity, 2, accuracy: 1e-12)
        XCTAssertEqual(usage.liveCodes, 4)
    }

    func testInitializationPicksDistinctCandidatesIdenticallyForEverySeedAndLevel() {
        func picks(seed: UInt64, level: VQVAELevel) -> [Int] {
            EMAQuantizer(
                numCodes: 16, dimension: 2, seed: seed, level: level, decay: 0.99, epsilon: 1e-5,
                deadCodeThreshold: 1
            ).initializationPositions(candidateCount: 40)
        }
        let a = picks(seed: 3, level: .top)
        XCTAssertEqual(Set(a).count, 16)
        XCTAssertTrue(a.allSatisfy { $0 >= 0 && $0 < 40 })
        XCTAssertEqual(a, picks(seed: 3, level: .top), "another rank with the same candidates")
        XCTAssertNotEqual(a, picks(seed: 3, level: .bottom))
        XCTAssertNotEqual(a, picks(seed: 4, level: .top))

        let candidates = randomTensor([40, 2], seed: 9)
        let q = EMAQuantizer(
            numCodes: 16, dimension: 2, seed: 3, level: .top, decay: 0.99, epsilon: 1e-5, deadCodeThreshold: 1)
        q.initialize(from: candidates.data, count: 40)
        for (code, position) in a.enumerated() {
            XCTAssertEqual(Array(q.codebook[(code * 2)..<(code * 2 + 2)]), Array(candidates.array[(position * 2)..<(position * 2 + 2)]))
        }
        XCTAssertEqual(Array(q.counts), [Float](repeating: 1, count: 16), "codes start where restarted codes start")
        let noRestarts = EMAQuantizer(
            numCodes: 16, dimension: 2, seed: 3, level: .top, decay: 0.99, epsilon: 1e-5, deadCodeThreshold: 0)
        noRestarts.initialize(from: candidates.data, count: 40)
        XCTAssertEqual(Array(noRestarts.counts), [Float](repeating: 40.0 / 16.0, count: 16), "without a threshold: the batch share")
    }
}
