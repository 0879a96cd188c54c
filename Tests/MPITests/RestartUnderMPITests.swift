import Foundation
import TestSupport
import XCTest

/// `launch/mpirun.sh --max-restarts`: a failed job starts again from its last checkpoint, and since resume is exact
/// the finished run is the uninterrupted one bit for bit; bad input is never retried.
final class RestartUnderMPITests: XCTestCase {
    private var directory: URL!
    private var vqvae2: String { TestEnvironment.product("vqvae2") }

    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("mpi-restart")
        let result = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(result.status, 0, result.output)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func checksums(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("state checksums:") }.map(String.init)
    }

    private func dirs(_ name: String) -> [String] {
        ["--set", "checkpoints.directory=\(directory.path)/\(name)/checkpoints", "--set", "run.directory=\(directory.path)/\(name)/run"]
    }

    /// kill -9 of one rank mid-run: the launcher restarts the job at the same world size, it resumes from its last
    /// commit, and it ends with the state of a run that was never interrupted; the run directory records the
    /// restart and the metrics show every step once.
    func testAKilledRankIsRestartedAndTheRunEndsAsIfUninterrupted() throws {
        let config = try TinyExperiment.writeConfig(in: directory, steps: 40)
        let train = [vqvae2, "train", "--config", config, "--set", "intervals.checkpoint_every=4", "--print-state-checksums"]
        let whole = try TestEnvironment.mpirun(ranks: 2, train + dirs("whole"))
        XCTAssertEqual(whole.status, 0, whole.output)

        let job = try LaunchedJob(
            ["-n", "2", "--max-restarts", "2"] + train + dirs("restarted") + ["--resume", "auto"],
            log: directory.appendingPathComponent("restarted.log"))
        try job.waitFor("step 10/40")
        let rankOne = try XCTUnwrap(try job.ranks(numbered: 1).first)
        kill(rankOne, SIGKILL)
        let output = try job.finish()
        XCTAssertEqual(job.process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("mpirun.sh: restart 1 of 2 at 2 rank(s) (was 2) after: rank 0: Open MPI is ending the job"), output)
        XCTAssertFalse(output.contains("restart 2 of 2"), output)
        XCTAssertTrue(output.contains("step 40/40"), output)
        XCTAssertEqual(try XCTUnwrap(checksums(output), output), try XCTUnwrap(checksums(whole.output)))

        let records = try String(contentsOfFile: directory.path + "/restarted/run/restarts.jsonl", encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(records.count, 1, "\(records)")
        XCTAssertTrue(records[0].contains("\"restart\":1") && records[0].contains("\"world_size\":2"), String(records[0]))
        let metrics = try String(contentsOfFile: directory.path + "/restarted/run/metrics.jsonl", encoding: .utf8)
            .split(separator: "\n").filter { $0.contains("\"kind\":\"train\"") }
        let steps = metrics.compactMap { line in line.range(of: #""step":\d+"#, options: .regularExpression).map { Int(line[$0].dropFirst(7))! } }
        XCTAssertEqual(steps, Array(1...40), "every step once, in order")
    }

    /// SIGTERM to the launcher still stops the job with a checkpoint, and is no reason to restart it.
    func testAStopRequestIsNotRestarted() throws {
        let config = try TinyExperiment.writeConfig(in: directory, steps: 1_000_000)
        let job = try LaunchedJob(
            ["-n", "2", "--max-restarts", "2", vqvae2, "train", "--config", config, "--resume", "auto"],
            log: directory.appendingPathComponent("stopped.log"))
        try job.waitFor("step 3/1000000")
        kill(job.process.processIdentifier, SIGTERM)
        let output = try job.finish()
        XCTAssertEqual(job.process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("train: stop requested (SIGUSR1); saving and exiting"), output)
        XCTAssertFalse(output.contains("mpirun.sh: restart"), output)
    }

    /// A config error fails the same way every time: exit status 2, one message, no restart.
    func testAConfigErrorIsNotRestarted() throws {
        let config = try TinyExperiment.writeConfig(in: directory)
        let result = try TestEnvironment.mpirun(
            ranks: 2, ["--max-restarts", "3", vqvae2, "train", "--config", config, "--set", "train.global_batch=7", "--resume", "auto"],
            timeout: 120)
        XCTAssertEqual(result.status, 2, result.output)
        XCTAssertEqual(result.output.components(separatedBy: "does not split evenly over 2 ranks").count - 1, 1, result.output)
        XCTAssertTrue(result.output.contains("mpirun.sh: not restarting: exit status 2 means bad input"), result.output)
        XCTAssertFalse(result.output.contains("mpirun.sh: restart 1"), result.output)
    }

    func testMaxRestartsNeedsAProgramThatResumes() throws {
        let config = try TinyExperiment.writeConfig(in: directory)
        let result = try TestEnvironment.mpirun(ranks: 2, ["--max-restarts", "1", vqvae2, "train", "--config", config], timeout: 60)
        XCTAssertEqual(result.status, 2, result.output)
        XCTAssertTrue(result.output.contains("--max-restarts needs a program that resumes from its last checkpoint: add --resume auto"), result.output)
    }
}
