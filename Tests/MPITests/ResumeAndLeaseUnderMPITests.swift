import Foundation
import TestSupport
import XCTest

/// `--resume auto` past a damaged newest checkpoint, and the lease that keeps a second job out of a checkpoint
/// directory in use.
final class ResumeAndLeaseUnderMPITests: XCTestCase {
    private var directory: URL!
    private var vqvae2: String { TestEnvironment.product("vqvae2") }

    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("mpi-resume")
        let result = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(result.status, 0, result.output)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private var checkpoints: String { directory.path + "/checkpoints" }

    /// The newest checkpoint's shard is damaged: `checkpoint list --verify` says so, an explicit `--resume` of it
    /// fails, and `--resume auto` warns, resumes from the one before, and saves that step again over it.
    func testResumeAutoFallsBackPastADamagedNewestCheckpoint() throws {
        let config = try TinyExperiment.writeConfig(in: directory, steps: 6)
        let first = try TestEnvironment.mpirun(
            ranks: 2, [vqvae2, "train", "--config", config, "--set", "intervals.checkpoint_every=2", "--set", "checkpoints.keep=5"])
        XCTAssertEqual(first.status, 0, first.output)
        let newest = checkpoints + "/step-00000006", shard = newest + "/shard-00002-of-00002.h5"
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: shard))
        try handle.seek(toOffset: 2048)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 64))
        try handle.close()

        let listing = try TestEnvironment.run([vqvae2, "checkpoint", "list", "--verify", checkpoints])
        XCTAssertEqual(listing.status, 0, listing.output)
        XCTAssertTrue(listing.output.contains("step-00000004  committed, verified"), listing.output)
        XCTAssertTrue(listing.output.contains("step-00000006  DAMAGED (\(shard): shard CRC-32 is"), listing.output)

        let explicit = try TestEnvironment.mpirun(
            ranks: 2, [vqvae2, "train", "--config", config, "--set", "train.steps=8", "--resume", newest])
        XCTAssertNotEqual(explicit.status, 0, explicit.output)
        XCTAssertTrue(explicit.output.contains("\(shard): shard CRC-32 is"), explicit.output)

        let resumed = try TestEnvironment.mpirun(
            ranks: 2, [vqvae2, "train", "--config", config, "--set", "train.steps=8", "--set", "intervals.checkpoint_every=2",
                       "--set", "checkpoints.keep=5", "--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("train: warning: skipping checkpoint \(newest): \(shard): shard CRC-32 is"), resumed.output)
        XCTAssertTrue(resumed.output.contains("resumed from \(checkpoints)/step-00000004 at step 4"), resumed.output)
        XCTAssertTrue(resumed.output.contains("moved to \(checkpoints)/step-00000006.tmp-fenced-g1 and saved again"), resumed.output)
        XCTAssertTrue(resumed.output.contains("step 8/8"), resumed.output)
        // Generation 3: the failed explicit resume took generation 2.
        let after = try TestEnvironment.run([vqvae2, "checkpoint", "list", "--verify", checkpoints])
        XCTAssertTrue(after.output.contains("step-00000006  committed, verified  step 6  generation 3"), after.output)
        XCTAssertFalse(after.output.contains("DAMAGED"), after.output)
    }

    /// A second job on a checkpoint directory in use refuses to start and names the holder; once the first job has
    /// stopped and released its lease, the next one takes it over without a warning, one generation up.
    func testASecondJobOnTheSameCheckpointDirectoryRefuses() throws {
        let config = try TinyExperiment.writeConfig(in: directory, steps: 1_000_000)
        let job = try LaunchedJob(
            ["-n", "2", vqvae2, "train", "--config", config, "--set", "intervals.checkpoint_every=2"],
            log: directory.appendingPathComponent("first.log"))
        try job.waitFor("step 3/1000000")

        let second = try TestEnvironment.run([vqvae2, "train", "--config", config, "--resume", "auto"], timeout: 120)
        XCTAssertNotEqual(second.status, 0, second.output)
        XCTAssertTrue(
            second.output.contains("checkpoint directory \(checkpoints) is in use by another job (host "), second.output)
        XCTAssertTrue(second.output.contains("(generation 1)); stop that job"), second.output)
        XCTAssertTrue(job.process.isRunning, "the first job must go on")

        kill(job.process.processIdentifier, SIGTERM)
        let output = try job.finish()
        XCTAssertEqual(job.process.terminationStatus, 0, output)
        let step = try XCTUnwrap(
            output.split(separator: "\n").compactMap { line -> Int? in
                guard let range = line.range(of: #"checkpoint \S+/step-(\d+) \("#, options: .regularExpression) else { return nil }
                return Int(line[range].split(separator: "-").last!.prefix(8))
            }.last, output)
        let third = try TestEnvironment.run(
            [vqvae2, "train", "--config", config, "--set", "train.steps=\(step + 1)", "--resume", "auto"], timeout: 120)
        XCTAssertEqual(third.status, 0, third.output)
        XCTAssertFalse(third.output.contains("taking over the lease"), third.output)
        let manifest = try String(contentsOfFile: checkpoints + String(format: "/step-%08d/manifest.json", step + 1), encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"lease_generation\" : 2"), manifest)
    }
}
