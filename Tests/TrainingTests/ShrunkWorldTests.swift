import XCTest
@testable import Training

/// A job continuing on fewer ranks keeps each rank's micro-batch by accumulating more of them.
final class ShrunkWorldTests: XCTestCase {
    private func config(globalBatch: Int, microBatches: Int) -> ExperimentConfig {
        var config = ExperimentConfig()
        config.train.globalBatch = globalBatch
        config.train.microBatches = microBatches
        return config
    }

    func testTheSameWorldChangesNothing() throws {
        var c = config(globalBatch: 32, microBatches: 2)
        XCTAssertNil(try ShrunkWorld.adapt(&c, firstWorldSize: 4, worldSize: 4))
        XCTAssertEqual(c.train.microBatches, 2)
    }

    func testHalfTheRanksAccumulateTwiceTheMicroBatches() throws {
        var c = config(globalBatch: 32, microBatches: 2)
        let note = try XCTUnwrap(try ShrunkWorld.adapt(&c, firstWorldSize: 4, worldSize: 2))
        XCTAssertEqual(c.train.microBatches, 4)
        XCTAssertEqual(32 / (2 * c.train.microBatches), 4, "each rank's micro-batch stays 4 images")
        XCTAssertEqual(
            note, "train: 2 of the job's first 4 ranks remain: train.micro_batches 2 -> 4, so that each rank keeps its micro-batch of 4 images")
        try c.validate(worldSize: 2)
    }

    func testAWorldThatCannotKeepTheMicroBatchIsRefusedNamingTheSizes() {
        var c = config(globalBatch: 24, microBatches: 1)
        XCTAssertThrowsError(try ShrunkWorld.adapt(&c, firstWorldSize: 4, worldSize: 3)) { error in
            XCTAssertEqual(
                "\(error)",
                "the job started with 4 ranks and continues with 3: each rank cannot keep its micro-batch (train.global_batch 24, train.micro_batches 1 at 4 ranks) unless 3 divides 4")
            XCTAssertTrue((error as? CollectiveFailure)?.isBadInput ?? false, "exit status 2: never restarted")
        }
        XCTAssertThrowsError(try ShrunkWorld.adapt(&c, firstWorldSize: 2, worldSize: 4), "a larger world is not a shrunk one")
    }
}
