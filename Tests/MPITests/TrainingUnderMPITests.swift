import Foundation
import TestSupport
import XCTest

/// `vqvae2 train` for real under mpirun, on a tiny model and the demo images at 16 pixels.
final class TrainingUnderMPITests: XCTestCase {
    private var directory: URL!

    /// Demo data at 16 pixels: 4 classes, 32 training and 8 held-out images (under a second to prepare).
    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("mpi-train")
        let result = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(result.status, 0, result.output)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func dataDirectory() throws -> URL { directory }

    private func tinyConfig(_ directory: URL) throws -> String { try TinyExperiment.writeConfig(in: directory) }

    private func checksums(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("state checksums:") }.map(String.init)
    }

    /// The progress lines without their speed and ETA: the losses and codebook figures each step printed.
    private func lossLines(_ output: String) -> [String] {
        output.split(separator: "\n").filter { $0.hasPrefix("step ") }.map { line in
            line.components(separatedBy: " | ").filter { !$0.hasSuffix("img/s") && !$0.hasPrefix("ETA") }.joined(separator: " | ")
        }
    }

    /// With 2 ranks the all-reduced sum a + b is exactly what one rank gets by accumulating the
    /// same two micro-batches, so after 24 joint steps (codebook start, EMA updates, restarts, Adam, prior dropout)
    /// every state tensor and every printed loss must be bit-identical.
    func testTwoRanksReproduceOneRankWithTwoMicroBatchesBitForBit() throws {
        let directory = try dataDirectory()
        let config = try tinyConfig(directory)
        let steps = ["--set", "train.steps=24"]
        let two = try train(2, config, steps)
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertTrue(two.output.contains("step 24/24"), two.output)
        let eventFiles = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/run").filter { $0.contains("tfevents") }
        XCTAssertEqual(eventFiles.count, 1, "rank 0 alone writes the TensorBoard event file: \(eventFiles)")
        let one = try train(1, config, steps + ["--set", "train.micro_batches=2", "--set", "checkpoints.directory=\(directory.path)/one"])
        XCTAssertEqual(one.status, 0, one.output)
        let a = try XCTUnwrap(checksums(one.output)), b = try XCTUnwrap(checksums(two.output))
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.contains("vqvae/top/codebook="))
        XCTAssertEqual(lossLines(one.output).count, 24)
        XCTAssertEqual(lossLines(one.output), lossLines(two.output))
        // The metrics log has one record per step.
        let log = try String(contentsOfFile: directory.path + "/run/metrics.jsonl", encoding: .utf8)
        XCTAssertGreaterThanOrEqual(log.split(separator: "\n").filter { $0.contains("\"kind\":\"train\"") }.count, 24)
    }

    /// `launch/mpirun.sh --threads-per-rank 2` with `distributed.threads_per_rank=2`: one rank on two cores
    /// ends bit-identical to one rank on one thread and to two ranks (the pieces of its work do not depend on the
    /// thread count); a config that asks for threads the launcher did not give is refused by name.
    func testTwoThreadsPerRankReproduceOneThreadBitForBit() throws {
        let directory = try dataDirectory()
        let config = try tinyConfig(directory)
        let steps = ["--set", "train.steps=8"]
        let two = try train(2, config, steps)
        XCTAssertEqual(two.status, 0, two.output)
        let threaded = try TestEnvironment.run(
            ["bash", TestEnvironment.packageRoot.appendingPathComponent("launch/mpirun.sh").path, "-n", "1",
             "--threads-per-rank", "2", TestEnvironment.product("vqvae2"), "train", "--config", config,
             "--print-state-checksums"] + steps
                + ["--set", "distributed.threads_per_rank=2", "--set", "train.micro_batches=2",
                   "--set", "checkpoints.directory=\(directory.path)/threaded"],
            timeout: 300)
        XCTAssertEqual(threaded.status, 0, threaded.output)
        XCTAssertEqual(try XCTUnwrap(checksums(threaded.output)), try XCTUnwrap(checksums(two.output)))

        let refused = try TestEnvironment.mpirun(
            ranks: 1,
            [TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "distributed.threads_per_rank=2",
             "--set", "checkpoints.directory=\(directory.path)/refused"] + steps,
            timeout: 120)
        XCTAssertEqual(refused.status, 2, refused.output)
        XCTAssertTrue(
            refused.output.contains("distributed.threads_per_rank is 2, but launch/mpirun.sh gave each rank 1 core(s)"),
            refused.output)
    }

    /// 2 ranks x 4 against 1 rank x 8 in one batch: the same samples, but the batch-8 products round differently
    /// and argmin near-ties can flip a code, so only the curves agree. Over 24 steps the reconstruction loss of every
    /// step must agree within 2% + 0.002 (measured differences are around 1e-5; a wrong gradient scale or a missing
    /// all-reduce moves it by tens of percent within a few steps).
    func testTwoRanksFollowTheLossCurveOfOneBigBatch() throws {
        let directory = try dataDirectory()
        let config = try tinyConfig(directory)
        let steps = ["--set", "train.steps=24", "--set", "top_prior.dropout=0", "--set", "bottom_prior.dropout=0"]
        let two = try train(2, config, steps)
        let one = try train(1, config, steps + ["--set", "checkpoints.directory=\(directory.path)/big"])
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertEqual(one.status, 0, one.output)
        func mse(_ output: String) -> [Double] {
            lossLines(output).compactMap { line in
                line.components(separatedBy: " | ").first { $0.hasPrefix("mse ") }
                    .flatMap { Double($0.split(separator: " ")[1]) }
            }
        }
        let a = mse(one.output), b = mse(two.output)
        XCTAssertEqual(a.count, 24)
        XCTAssertEqual(a.count, b.count)
        for (step, (x, y)) in zip(a, b).enumerated() {
            XCTAssertEqual(x, y, accuracy: 0.02 * x + 0.002, "step \(step + 1): \(x) vs \(y)")
        }
    }

    /// One rank nudges a parameter after step 3: the replica check at step 4 stops every rank, naming the tensor.
    func testAPlantedDivergenceIsCaughtByName() throws {
        let config = try tinyConfig(try dataDirectory())
        let result = try TestEnvironment.mpirun(
            ranks: 2, [TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "train.steps=10"],
            environment: ["VQVAE2_TRAIN_FAULT": "diverge:1@3"], timeout: 180)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(
            result.output.contains("replicas diverged: 'top_prior/parameters' differs between rank 0 and rank(s) 1"), result.output)
        XCTAssertFalse(result.output.contains("step 5/10"), "stopped at the check of step 4: \(result.output)")
    }

    /// With three ranks the majority tells which replica went wrong, even when it is rank 0.
    func testAPlantedDivergenceOnRankZeroIsNamedByTheMajority() throws {
        let config = try tinyConfig(try dataDirectory())
        let result = try TestEnvironment.mpirun(
            ranks: 3, [TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "train.steps=10",
                       "--set", "train.global_batch=6"],
            environment: ["VQVAE2_TRAIN_FAULT": "diverge:0@3"], timeout: 180)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(
            result.output.contains(
                "replicas diverged: 'top_prior/parameters' on rank(s) 0 differs from the value 2 other ranks agree on"),
            result.output)
    }

    /// A rank that exits or is killed mid-run takes the job down (after mpirun's two waits of
    /// odls_base_sigkill_timeout); the last checkpoint still loads.
    func testARankThatDiesEndsTheJobAndTheRunResumes() throws {
        let config = try tinyConfig(try dataDirectory())
        for fault in ["exit:1@6", "kill:0@6"] {
            let result = try TestEnvironment.mpirun(
                ranks: 2,
                [TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "train.steps=40",
                 "--set", "intervals.checkpoint_every=4"],
                environment: ["VQVAE2_TRAIN_FAULT": fault], timeout: 180)
            XCTAssertFalse(result.timedOut, result.output)
            XCTAssertNotEqual(result.status, 0, result.output)
            XCTAssertFalse(result.output.contains("step 8/40"), "\(fault): \(result.output)")
            let resumed = try train(2, config, ["--set", "train.steps=8", "--resume", "auto"])
            XCTAssertEqual(resumed.status, 0, resumed.output)
            XCTAssertTrue(resumed.output.contains("resumed from \(directory.path)/checkpoints/step-00000004 at step 4"), "\(fault): \(resumed.output)")
            try FileManager.default.removeItem(atPath: directory.path + "/checkpoints")
        }
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

    private func train(_ ranks: Int, _ config: String, _ arguments: [String] = []) throws -> ProcessResult {
        let command = [TestEnvironment.product("vqvae2"), "train", "--config", config, "--print-state-checksums"] + arguments
        return ranks == 1 ? try TestEnvironment.run(command) : try TestEnvironment.mpirun(ranks: ranks, command)
    }

    /// Same world size: a run stopped after 3 steps and resumed to 6 ends bit-identical to one never stopped.
    /// Different world size (2 -> 1 with two micro-batches, which is the same arithmetic): also bit-identical.
    /// 3 -> 2 (oversubscribed): loads, continues from the same data position, and finishes.
    func testResumedRunsMatchUninterruptedOnes() throws {
        let config = try tinyConfig(try dataDirectory())
        let whole = try train(2, config, ["--set", "train.steps=6", "--set", "checkpoints.directory=\(directory.path)/whole"])
        XCTAssertEqual(whole.status, 0, whole.output)
        let first = try train(2, config, ["--set", "train.steps=3"])
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path + "/checkpoints/step-00000003/manifest.json"))
        let resumed = try train(2, config, ["--set", "train.steps=6", "--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("resumed from \(directory.path)/checkpoints/step-00000003 at step 3"), resumed.output)
        XCTAssertEqual(try XCTUnwrap(checksums(resumed.output)), try XCTUnwrap(checksums(whole.output)))

        let onOne = try train(1, config, [
            "--set", "train.steps=6", "--set", "train.micro_batches=2", "--resume", directory.path + "/checkpoints/step-00000003",
            "--set", "checkpoints.directory=\(directory.path)/one"])
        XCTAssertEqual(onOne.status, 0, onOne.output)
        XCTAssertEqual(try XCTUnwrap(checksums(onOne.output)), try XCTUnwrap(checksums(whole.output)))

        let onThree = try train(3, config, [
            "--set", "train.global_batch=6", "--set", "train.steps=8", "--set", "checkpoints.directory=\(directory.path)/three"])
        XCTAssertEqual(onThree.status, 0, onThree.output)
        let onTwo = try train(2, config, [
            "--set", "train.global_batch=6", "--set", "train.steps=10", "--set", "checkpoints.directory=\(directory.path)/three",
            "--resume", "auto"])
        XCTAssertEqual(onTwo.status, 0, onTwo.output)
        XCTAssertTrue(onTwo.output.contains("at step 8, epoch 1, sample 18"), "8 steps of 6 over 32 images (5 per epoch): \(onTwo.output)")
        XCTAssertTrue(onTwo.output.contains("step 10/10"), onTwo.output)
    }

    /// SIGTERM to the launcher (as a scheduler or Ctrl-C would send it), and SIGTERM to a single rank: the ranks
    /// agree at the next step boundary, write a checkpoint and exit 0; resuming then finishes bit-identical to a
    /// run never stopped.
    func testPreemptionSavesAndResumesExactly() throws {
        let config = try tinyConfig(try dataDirectory())
        let steps = ["--set", "train.steps=40"]
        let whole = try train(2, config, steps + ["--set", "checkpoints.directory=\(directory.path)/whole"])
        XCTAssertEqual(whole.status, 0, whole.output)

        for target in ["launcher", "rank 1"] {
            try? FileManager.default.removeItem(atPath: directory.path + "/checkpoints")
            let job = try LaunchedJob(["-n", "2", TestEnvironment.product("vqvae2"), "train", "--config", config] + steps, log: directory.appendingPathComponent("preempted.log"))
            try job.waitFor("step 3/40")
            if target == "launcher" {
                job.process.terminate()
            } else {
                // The ranks are the processes whose command line names this test's config; rank 1 is the second.
                let ranks = try TestEnvironment.run(["pgrep", "-f", "^\(TestEnvironment.product("vqvae2")) train --config \(config) "]).output
                    .split(separator: "\n").compactMap { Int32($0) }.sorted()
                XCTAssertEqual(ranks.count, 2, "rank processes: \(ranks)")
                if let rank = ranks.last { kill(rank, SIGTERM) }
            }
            let output = try job.finish()
            XCTAssertEqual(job.process.terminationStatus, 0, "\(target): \(output)")
            XCTAssertTrue(output.contains("stop requested"), "\(target): \(output)")
            XCTAssertTrue(output.contains("train: checkpoint "), "\(target): \(output)")
            XCTAssertFalse(output.contains("step 40/40"), "\(target): stopped early: \(output)")

            let resumed = try train(2, config, steps + ["--resume", "auto"])
            XCTAssertEqual(resumed.status, 0, resumed.output)
            XCTAssertTrue(resumed.output.contains("resumed from"), "\(target): \(resumed.output)")
            XCTAssertEqual(try XCTUnwrap(checksums(resumed.output)), try XCTUnwrap(checksums(whole.output)), target)
        }
    }

    /// SIGTERM to mpirun itself, as `kill` of the job or a scheduler that signals mpirun would send it: Open MPI
    /// sends the ranks SIGTERM odls_base_sigkill_timeout seconds later and stops relaying their output meanwhile;
    /// the ranks still agree on a step, commit a checkpoint there, and the launcher exits 0 on rank 0's report
    /// although mpirun exits 1. A resumed run starts at that step.
    func testSIGTERMToMpirunItselfCommitsACheckpointAndExitsZero() throws {
        let config = try tinyConfig(try dataDirectory())
        let job = try LaunchedJob(
            ["-n", "2", TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "train.steps=1000000"],
            log: directory.appendingPathComponent("mpirun-sigterm.log"), environment: ["VQVAE2_SIGKILL_TIMEOUT": "3"])
        try job.waitFor("step 3/1000000")
        try job.signalMpirun(SIGTERM)
        let output = try job.finish()
        XCTAssertEqual(job.process.terminationStatus, 0, output)
        let report = try XCTUnwrap(
            output.split(separator: "\n").first { $0.hasPrefix("mpirun.sh: mpirun exited with status 1 after a stop signal") },
            output)
        let committed = try XCTUnwrap(report.range(of: #"checkpoint \S+/step-(\d+) committed"#, options: .regularExpression), String(report))
        let path = String(report[committed].dropFirst("checkpoint ".count).dropLast(" committed".count))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/manifest.json"), "committed: \(report)")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: directory.path + "/checkpoints").filter { $0.hasPrefix("step-") },
            [URL(fileURLWithPath: path).lastPathComponent])
        let step = try XCTUnwrap(Int(path.suffix(8)))
        XCTAssertGreaterThan(step, 3)

        let resumed = try train(2, config, ["--set", "train.steps=\(step + 2)", "--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("resumed from \(path) at step \(step)"), resumed.output)
        XCTAssertTrue(resumed.output.contains("step \(step + 2)/\(step + 2)"), resumed.output)
    }

    /// The staged schedule is exact too: 2 ranks against 1 rank with two micro-batches, 20 steps of the VQ-VAE alone
    /// and then 20 steps of the priors alone on the extracted codes (resumed from the same checkpoint), bit for bit
    /// in every state tensor and every printed loss.
    func testStagedScheduleOnTwoRanksReproducesOneRankBitForBit() throws {
        let config = try tinyConfig(try dataDirectory())
        let one = ["--set", "train.micro_batches=2"]
        let stage1 = ["--set", "train.schedule=vqvae", "--set", "train.steps=20"]
        let two1 = try train(2, config, stage1)
        let one1 = try train(1, config, stage1 + one + ["--set", "checkpoints.directory=\(directory.path)/one"])
        XCTAssertEqual(two1.status, 0, two1.output)
        XCTAssertEqual(one1.status, 0, one1.output)
        XCTAssertEqual(lossLines(two1.output).count, 20)
        XCTAssertEqual(lossLines(one1.output), lossLines(two1.output))
        XCTAssertEqual(try XCTUnwrap(checksums(one1.output)), try XCTUnwrap(checksums(two1.output)))

        let extract = try TestEnvironment.mpirun(ranks: 2, [TestEnvironment.product("vqvae2"), "extract-codes", "--config", config])
        XCTAssertEqual(extract.status, 0, extract.output)
        let stage2 = ["--set", "train.schedule=priors", "--set", "train.steps=40"]
        let two2 = try train(2, config, stage2 + ["--resume", "auto"])
        let one2 = try train(1, config, stage2 + one + [
            "--set", "checkpoints.directory=\(directory.path)/one2", "--resume", directory.path + "/checkpoints/step-00000020"])
        XCTAssertEqual(two2.status, 0, two2.output)
        XCTAssertEqual(one2.status, 0, one2.output)
        XCTAssertEqual(lossLines(two2.output).count, 20)
        XCTAssertEqual(lossLines(one2.output), lossLines(two2.output))
        XCTAssertEqual(try XCTUnwrap(checksums(one2.output)), try XCTUnwrap(checksums(two2.output)))
    }

    /// The staged schedule end to end: VQ-VAE alone, codes extracted on 2 ranks, priors alone on the codes; then
    /// evaluate (1 and 3 ranks agree) and sample from the result.
    func testStagedScheduleEvaluationAndSampling() throws {
        let config = try tinyConfig(try dataDirectory())
        let vqvae2 = TestEnvironment.product("vqvae2")
        let stage1 = try train(2, config, ["--set", "train.schedule=vqvae", "--set", "train.steps=4"])
        XCTAssertEqual(stage1.status, 0, stage1.output)
        let extract = try TestEnvironment.mpirun(ranks: 2, [vqvae2, "extract-codes", "--config", config])
        XCTAssertEqual(extract.status, 0, extract.output)
        XCTAssertTrue(extract.output.contains("heldout 8, train 32 code maps"), extract.output)
        let fresh = try train(2, config, [
            "--set", "train.schedule=priors", "--set", "checkpoints.directory=\(directory.path)/fresh"])
        XCTAssertNotEqual(fresh.status, 0)
        XCTAssertTrue(fresh.output.contains("the codes come from another VQ-VAE"), fresh.output)
        let stage2 = try train(2, config, ["--set", "train.schedule=priors", "--set", "train.steps=8", "--resume", "auto"])
        XCTAssertEqual(stage2.status, 0, stage2.output)
        XCTAssertTrue(stage2.output.contains("priors schedule"), stage2.output)
        XCTAssertTrue(stage2.output.contains("step 8/8"), stage2.output)

        var reports: [String] = []
        for ranks in [1, 3] {
            let out = directory.path + "/eval\(ranks).json"
            let command = [vqvae2, "evaluate", "--config", config, "--output", out]
            let result = ranks == 1 ? try TestEnvironment.run(command) : try TestEnvironment.mpirun(ranks: ranks, command)
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("PSNR"), result.output)
            reports.append(try String(contentsOfFile: out, encoding: .utf8))
        }
        let decoded = try reports.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(decoded[0]["images"] as? Int, 8)
        XCTAssertEqual(decoded[0]["reconstruction"] as! Double, decoded[1]["reconstruction"] as! Double, accuracy: 1e-12)
        for level in ["top", "bottom"] {
            let canonical = try decoded.map { try JSONSerialization.data(withJSONObject: $0[level]!, options: .sortedKeys) }
            XCTAssertEqual(canonical[0], canonical[1], level)
        }

        let onShard = try TestEnvironment.run([
            vqvae2, "evaluate", "--config", config, "--data", directory.path + "/data/heldout-00000-of-00001.h5",
            "--output", directory.path + "/eval-shard.json"])
        XCTAssertEqual(onShard.status, 0, onShard.output)
        XCTAssertEqual(try String(contentsOfFile: directory.path + "/eval-shard.json", encoding: .utf8), reports[0], "a shard alone")

        let png = directory.path + "/samples.png"
        let sample = try TestEnvironment.run([vqvae2, "sample", "--config", config, "--classes", "0,3", "--per-class", "2", "--output", png])
        XCTAssertEqual(sample.status, 0, sample.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: png))

        // Training the VQ-VAE further leaves priors that learned the old codes: sampling refuses them.
        let moved = try train(1, config, ["--set", "train.schedule=vqvae", "--set", "train.steps=9", "--resume", "auto"])
        XCTAssertEqual(moved.status, 0, moved.output)
        let refused = try TestEnvironment.run([vqvae2, "sample", "--config", config, "--output", png])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("trained on the codes of another VQ-VAE"), refused.output)
    }
}
