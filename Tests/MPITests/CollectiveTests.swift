import TestSupport
import XCTest

/// Runs the mpi-checks program under mpirun through the project's launcher.
final class CollectiveTests: XCTestCase {
    func testCollectivesOnTwoRanks() throws {
        let result = try TestEnvironment.mpirun(ranks: 2, [TestEnvironment.product("mpi-checks"), "collectives"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("rank 0/2: collectives ok"), result.output)
        XCTAssertTrue(result.output.contains("rank 1/2: collectives ok"), result.output)
    }

    func testCollectivesOnThreeRanksOversubscribed() throws {
        let result = try TestEnvironment.mpirun(ranks: 3, [TestEnvironment.product("mpi-checks"), "collectives"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output.components(separatedBy: "collectives ok").count - 1, 3, result.output)
    }

    /// The single-rank collective passes the same checks as MPI's ranks, without mpirun.
    func testCollectivesAndCoordinationOverASingleRank() throws {
        let result = try TestEnvironment.run([TestEnvironment.product("mpi-checks"), "single-rank"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("rank 0/1: collectives ok"), result.output)
        XCTAssertTrue(result.output.contains("rank 0/1: coordination ok"), result.output)
    }

    func testHDF5FilesWrittenByEachRankAreReadByAll() throws {
        let directory = try TestEnvironment.temporaryDirectory("mpi-hdf5")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try TestEnvironment.mpirun(
            ranks: 2, [TestEnvironment.product("mpi-checks"), "hdf5", directory.path])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output.components(separatedBy: "hdf5 round trip ok").count - 1, 2, result.output)
    }

    func testCoordinatorAndGradientBucketsOnTwoAndThreeRanks() throws {
        for ranks in [2, 3] {
            let result = try TestEnvironment.mpirun(ranks: ranks, [TestEnvironment.product("mpi-checks"), "coordination"])
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertEqual(result.output.components(separatedBy: "coordination ok").count - 1, ranks, result.output)
        }
    }

    func testAFailingRankEndsTheJobPromptly() throws {
        let result = try TestEnvironment.mpirun(
            ranks: 2, [TestEnvironment.product("mpi-checks"), "failing-rank"], timeout: 120)
        XCTAssertFalse(result.timedOut, "the job hung after a rank failed:\n\(result.output)")
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertFalse(result.output.contains("returned although"), result.output)
        XCTAssertLessThan(result.seconds, 60, "took \(result.seconds) s to bring the job down")
    }
}
