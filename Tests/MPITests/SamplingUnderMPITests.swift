import Foundation
import TestSupport
import XCTest

/// `vqvae2 sample` and the sample grid of `train` under mpirun: the ranks share the grid's batches, and a stop
/// signal while sampling ends every rank together without a partial picture.
final class SamplingUnderMPITests: XCTestCase {
    private var directory: URL!
    private var config = ""
    private let vqvae2 = TestEnvironment.product("vqvae2")

    /// Demo data at 16 pixels and a checkpoint of 4 joint steps to sample from.
    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("mpi-sample")
        let prepared = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(prepared.status, 0, prepared.output)
        config = try TinyExperiment.writeConfig(in: directory, steps: 4)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func trainTinyModel() throws {
        let trained = try TestEnvironment.run([vqvae2, "train", "--config", config])
        XCTAssertEqual(trained.status, 0, trained.output)
    }

    /// 12 samples in batches of 5 (the last one padded): one rank, two (the second idle in the last round) and
    /// three draw the same picture, byte for byte.
    func testOneTwoAndThreeRanksDrawTheSameGrid() throws {
        try trainTinyModel()
        var pictures: [Data] = []
        for ranks in [1, 2, 3] {
            let png = directory.path + "/samples-\(ranks).png"
            let command = [
                vqvae2, "sample", "--config", config, "--classes", "0,1,2,3", "--per-class", "3", "--batch", "5",
                "--output", png,
            ]
            let result = ranks == 1 ? try TestEnvironment.run(command) : try TestEnvironment.mpirun(ranks: ranks, command)
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("sample: drawing 12 samples in 3 batch(es) of 5 on \(ranks) rank(s)"), result.output)
            pictures.append(try Data(contentsOf: URL(fileURLWithPath: png)))
        }
        XCTAssertEqual(pictures[0], pictures[1], "2 ranks")
        XCTAssertEqual(pictures[0], pictures[2], "3 ranks")
    }

    /// `train` draws a small grid (2 per class) every `intervals.pictures_every` steps, and the full one at the end,
    /// both shared over the ranks.
    func testTrainDrawsASmallGridEveryPicturesEveryAndTheFullOneAtTheEnd() throws {
        let result = try TestEnvironment.mpirun(
            ranks: 2, [vqvae2, "train", "--config", config, "--set", "intervals.pictures_every=2"])
        XCTAssertEqual(result.status, 0, result.output)
        for name in ["samples-00000002.png", "samples.png"] {
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: directory.path + "/run/pictures/" + name), "\(name): \(result.output)")
        }
    }

    /// SIGTERM to mpirun during a long `sample`: every rank stops within a position step, the job fails with the
    /// reason, no picture is written, and no rank is left.
    func testSIGTERMDuringSampleStopsEveryRankAndWritesNothing() throws {
        try trainTinyModel()
        let png = directory.path + "/never.png"
        let job = try LaunchedJob(
            ["-n", "2", vqvae2, "sample", "--config", config, "--per-class", "50000", "--batch", "8", "--output", png],
            log: directory.appendingPathComponent("sample-sigterm.log"), environment: ["VQVAE2_SIGKILL_TIMEOUT": "3"])
        try job.waitFor("sample: drawing 200000 samples")
        try job.signalMpirun(SIGTERM)
        let output = try job.finish()
        XCTAssertNotEqual(job.process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("sampling stopped by a stop signal; no samples were written"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: png), "a stopped sampling wrote \(png)")
        let left = try TestEnvironment.run(["pgrep", "-f", "\(vqvae2) sample --config \(config)"])
        XCTAssertEqual(left.output.trimmingCharacters(in: .whitespacesAndNewlines), "", "ranks left running")
    }

    /// A SIGTERM that reaches rank 1 in the middle of the end-of-run grid (planted at its 10th position step):
    /// both ranks stop sampling together, the checkpoint of the last step is committed, the run reports a clean
    /// stop, and no samples.png is written.
    func testSIGTERMDuringTheEndOfRunGridKeepsTheLastStepCommitted() throws {
        let result = try TestEnvironment.mpirun(
            ranks: 2, [vqvae2, "train", "--config", config], environment: ["VQVAE2_SAMPLE_FAULT": "sigterm:1@10"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("planted SIGTERM at position step 10"), result.output)
        XCTAssertTrue(result.output.contains("train: stop requested while sampling"), result.output)
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: directory.path + "/checkpoints/step-00000004/manifest.json"),
            result.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + "/run/pictures/samples.png"))

        let resumed = try TestEnvironment.run([vqvae2, "train", "--config", config, "--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("at step 4"), resumed.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path + "/run/pictures/samples.png"), resumed.output)
    }
}
