import Foundation
import TestSupport
import XCTest

/// How jobs end when something goes wrong: a killed mpirun, a killed rank, an error every rank finds at start-up.
/// The outcomes are asserted (no rank left, no checkpoint after the kill, one message); the times are measured by
/// benchmarks/failure_times.sh, apart from the start-up error's generous bound.
final class FailureUnderMPITests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("mpi-failure")
        let result = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(result.status, 0, result.output)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A job that commits a checkpoint every 2 steps and would run for hours.
    private func endlessJob(_ name: String) throws -> (job: LaunchedJob, config: String) {
        let config = try TinyExperiment.writeConfig(in: directory, steps: 1_000_000, extra: "")
        let job = try LaunchedJob(
            ["-n", "2", TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "intervals.checkpoint_every=2"],
            log: directory.appendingPathComponent("\(name).log"))
        return (job, config)
    }

    private func committedSteps() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path + "/checkpoints")
            .filter { FileManager.default.fileExists(atPath: directory.path + "/checkpoints/\($0)/manifest.json") }.sorted()
    }

    /// kill -9 of mpirun: the ranks die with it (their parent-death signal), so nothing commits a checkpoint after
    /// the kill, which a job restarted at once on the same directory would race with.
    func testKillingMpirunLeavesNoRankThatCommitsLater() throws {
        let (job, config) = try endlessJob("kill-mpirun")
        try job.waitFor("step 9/1000000")
        try job.signalMpirun(SIGKILL)
        let output = try job.finish()
        XCTAssertNotEqual(job.process.terminationStatus, 0, output)
        let atKill = try committedSteps()
        XCTAssertFalse(atKill.isEmpty, output)
        XCTAssertEqual(try LaunchedJob.waitUntilGone(mentioning: config, within: 15), [], "ranks left after mpirun was killed")
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(try committedSteps(), atKill, "a checkpoint was committed after mpirun was killed")
    }

    /// kill -9 of one rank: the survivor finds its peer gone once Open MPI begins the teardown, leaves, and the
    /// launcher ends mpirun and prints why; no rank is left.
    func testAKilledRankEndsTheJobWithNoRankLeft() throws {
        let (job, config) = try endlessJob("kill-rank")
        try job.waitFor("step 5/1000000")
        XCTAssertEqual(try LaunchedJob.descendants(of: job.process.processIdentifier).filter { $0.command == "vqvae2" }.count, 2)
        let rankOne = try XCTUnwrap(try job.ranks(numbered: 1).first)
        kill(rankOne, SIGKILL)
        let output = try job.finish()
        XCTAssertNotEqual(job.process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("rank 0: Open MPI is ending the job"), output)
        XCTAssertTrue(output.contains("a peer rank is gone; exiting without saving"), output)
        XCTAssertEqual(try LaunchedJob.waitUntilGone(mentioning: config, within: 15), [], "ranks left after a rank was killed")
    }

    /// An error every rank finds at start-up (here a global batch that does not split over the ranks) ends the job
    /// with one message, from rank 0, and without Open MPI's two teardown waits (10 s by default).
    func testAnErrorEveryRankFindsAtStartUpEndsQuicklyWithOneMessage() throws {
        let config = try TinyExperiment.writeConfig(in: directory)
        let start = Date()
        let result = try TestEnvironment.mpirun(
            ranks: 2, [TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "train.global_batch=7"],
            timeout: 120)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        let message = "train.global_batch = 7 does not split evenly over 2 ranks"
        XCTAssertEqual(result.output.components(separatedBy: message).count - 1, 1, result.output)
        XCTAssertLessThan(seconds, 8, result.output)
    }
}
