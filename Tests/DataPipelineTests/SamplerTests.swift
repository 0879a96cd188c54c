import DataPipeline
import XCTest

final class SamplerTests: XCTestCase {
    func testRanksSplitEachGlobalBatchDisjointlyAndMatchOneRank() throws {
        let count = 103, batch = 12
        let one = try DistributedSampler(count: count, globalBatch: batch, rank: 0, worldSize: 1, seed: 9)
        let order = one.order(epoch: 2)
        for world in [2, 3, 4] {
            let ranks = try (0..<world).map {
                try DistributedSampler(count: count, globalBatch: batch, rank: $0, worldSize: world, seed: 9)
            }
            XCTAssertTrue(ranks.allSatisfy { $0.order(epoch: 2) == order }, "same permutation on every rank")
            var seen = Set<Int32>()
            for step in 0..<one.stepsPerEpoch {
                let slices = ranks.map { Array($0.localIndices(order: order, position: step * batch)) }
                XCTAssertEqual(slices.flatMap { $0 }, Array(one.localIndices(order: order, position: step * batch)))
                for s in slices { seen.formUnion(s) }
            }
            XCTAssertEqual(seen.count, one.stepsPerEpoch * batch, "disjoint across ranks and steps")
        }
        XCTAssertEqual(one.stepsPerEpoch, 8, "the ragged tail of 7 is dropped")
    }

    func testEpochsShuffleDifferentlyAndCoverEverything() throws {
        let sampler = try DistributedSampler(count: 50, globalBatch: 10, rank: 0, worldSize: 1, seed: 1)
        XCTAssertNotEqual(sampler.order(epoch: 0), sampler.order(epoch: 1))
        XCTAssertEqual(sampler.order(epoch: 3).sorted(), (0..<50).map { Int32($0) })
        let unshuffled = try DistributedSampler(count: 50, globalBatch: 10, rank: 0, worldSize: 1, seed: 1, shuffle: false)
        XCTAssertEqual(unshuffled.order(epoch: 3), (0..<50).map { Int32($0) })
    }

    func testImpossibleSettingsAreClearErrors() {
        XCTAssertThrowsError(try DistributedSampler(count: 100, globalBatch: 10, rank: 0, worldSize: 3, seed: 0)) {
            XCTAssertTrue("\($0)".contains("does not split evenly over 3 ranks"))
        }
        XCTAssertThrowsError(try DistributedSampler(count: 5, globalBatch: 8, rank: 0, worldSize: 1, seed: 0)) {
            XCTAssertTrue("\($0)".contains("fewer than one global batch"))
        }
    }

    func testEvaluationCoversEveryImageOnceForAnyRankCount() {
        let single = EvaluationPartition(count: 23, rank: 0, worldSize: 1, batch: 4).batches
        XCTAssertEqual(single.last, 20..<23, "the last batch is ragged")
        for world in 1...5 {
            let parts = (0..<world).map { EvaluationPartition(count: 23, rank: $0, worldSize: world, batch: 4).batches }
            XCTAssertEqual(parts.flatMap { $0.flatMap { Array($0) } }.sorted(), Array(0..<23), "\(world) ranks")
            XCTAssertEqual(Set(parts.flatMap { $0 }), Set(single), "the same batches whatever the world size")
        }
    }

    func testPositionAdvancesAndRollsOverInGlobalSamples() {
        var p = DataPosition()
        for _ in 0..<4 { p = p.advanced(by: 12, count: 50) }
        XCTAssertEqual(p, DataPosition(epoch: 1, sampleInEpoch: 0), "48 of 50 used, the tail of 2 dropped")
        XCTAssertEqual(DataPosition(epoch: 0, sampleInEpoch: 45).normalized(globalBatch: 12, count: 50), DataPosition(epoch: 1))
        XCTAssertEqual(DataPosition(epoch: 0, sampleInEpoch: 24).normalized(globalBatch: 12, count: 50), DataPosition(epoch: 0, sampleInEpoch: 24))
    }
}
