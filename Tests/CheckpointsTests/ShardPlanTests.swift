import XCTest
@testable import Checkpoints

final class ShardPlanTests: XCTestCase {
    func testLargestFirstToTheLeastLoadedRank() {
        let plan = ShardPlan(byteCounts: [10, 70, 40, 30, 20], names: ["a", "b", "c", "d", "e"], worldSize: 2)
        // b(70) -> 0; c(40) -> 1; d(30) -> 1 (40 < 70); e(20) -> 0 (70 = 70, lower rank); a(10) -> 1 (70 < 90)
        XCTAssertEqual(plan.shardOfTensor, [1, 0, 1, 1, 0])
        XCTAssertEqual(plan.shardBytes, [90, 80])
        XCTAssertEqual(plan.tensors(of: 0), [1, 4])
    }

    func testThePlanDoesNotDependOnTheOrderTensorsAreListedIn() {
        let names = ["x", "y", "z", "w"], sizes = [8, 8, 8, 4]
        let forward = ShardPlan(byteCounts: sizes, names: names, worldSize: 3)
        let backward = ShardPlan(byteCounts: sizes.reversed(), names: names.reversed(), worldSize: 3)
        XCTAssertEqual(forward.shardOfTensor, backward.shardOfTensor.reversed())
    }

    func testMoreRanksThanTensorsLeavesEmptyShards() {
        let plan = ShardPlan(byteCounts: [4], names: ["only"], worldSize: 3)
        XCTAssertEqual(plan.shardBytes, [4, 0, 0])
        XCTAssertEqual(plan.tensors(of: 2), [])
    }
}
