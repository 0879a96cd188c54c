import Foundation
import TestSupport
import XCTest

/// `vqvae2 train` for real under mpirun, on a tiny model and the demo images at 16 pixels.
final class TrainingUnderMPITests: XCTestCase {
    private var directory: URL!

    /// Demo data at 16 pixels: 4 classes, 32 training and 8 held-out images (under a second to prepare).
    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("mpi-train")
        let result = try TestEnvironment.run([
            TestEnvironment.product("vqvae2"), "prepare", "--demo", directory.path + "/src", "--output",
            directory.path + "/data", "--image-size", "16", "--demo-classes", "4", "--demo-train-per-class", "8",
            "--demo-val-per-class", "2", "--train-shards", "2",
        ])
        XCTAssertEqual(result.status, 0, result.output)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func dataDirectory() throws -> URL { directory }

    private func tinyConfig(_ directory: URL, _ extra: String = "") throws -> String {
        let path = directory.appendingPathComponent("tiny-\(UUID().uuidString.prefix(6)).yaml").path
        try """
            model:
              image_size: 16
              channels: 16
              residual_channels: 8
              codebook_size: 32
              code_dim: 8
            top_prior:
              channels: 16
              layers: 2
              first_kernel: 3
              attention_every: 1
              heads: 2
            bottom_prior:
              channels: 16
              layers: 2
              first_kernel: 3
              conditioning_layers: 1
              conditioning_channels: 16
            data:
              manifest: \(directory.path)/data/manifest.json
            train:
              global_batch: 8
              steps: 5
              learning_rate: 1e-3
            intervals:
              log_every: 1
              check_every: 2
            run:
              directory: \(directory.path)/run
            \(extra)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func checksums(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("state checksums:") }.map(String.init)
    }

    /// BRIEF section 3: with 2 ranks the all-reduced sum a + b is exactly what one rank gets by accumulating the
    /// same two micro-batches, so after several joint steps (codebook start, EMA updates, restarts, Adam, prior
    /// dropout) every state tensor must be bit-identical.
    func testTwoRanksReproduceOneRankWithTwoMicroBatchesBitForBit() throws {
        let directory = try dataDirectory()
        let config = try tinyConfig(directory)
        let vqvae2 = TestEnvironment.product("vqvae2")
        let two = try TestEnvironment.mpirun(ranks: 2, [vqvae2, "train", "--config", config, "--print-state-checksums"])
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertTrue(two.output.contains("step 5/5"), two.output)
        let one = try TestEnvironment.run(
            [vqvae2, "train", "--config", config, "--set", "train.micro_batches=2", "--print-state-checksums"])
        XCTAssertEqual(one.status, 0, one.output)
        let a = try XCTUnwrap(checksums(one.output)), b = try XCTUnwrap(checksums(two.output))
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.contains("vqvae/top/codebook="))
        // The metrics log has one record per step.
        let log = try String(contentsOfFile: directory.path + "/run/metrics.jsonl", encoding: .utf8)
        XCTAssertGreaterThanOrEqual(log.split(separator: "\n").filter { $0.contains("\"kind\":\"train\"") }.count, 5)
    }

    func testANonFiniteLossStopsEveryRankCleanly() throws {
        let directory = try dataDirectory()
        let config = try tinyConfig(directory)
        let result = try TestEnvironment.mpirun(
            ranks: 2,
            [TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "train.learning_rate=1e30",
             "--set", "train.steps=20"], timeout: 180)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("NaN or infinite on rank(s) 0, 1; all ranks stopped"), result.output)
        XCTAssertEqual(result.output.components(separatedBy: "NaN or infinite").count - 1, 1, "reported once")
    }

    func testAnIndivisibleGlobalBatchIsAClearError() throws {
        let directory = try dataDirectory()
        let config = try tinyConfig(directory)
        let result = try TestEnvironment.mpirun(
            ranks: 3, [TestEnvironment.product("vqvae2"), "train", "--config", config], timeout: 120)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("train.global_batch = 8 does not split evenly over 3 ranks"), result.output)
    }
}
