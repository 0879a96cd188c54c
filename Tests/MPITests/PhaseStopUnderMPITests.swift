import Foundation
import TestSupport
import XCTest

/// SIGTERM to the launcher (which passes it on to the ranks as SIGUSR1) while a long phase runs on 2 ranks: every
/// rank stops together, rank 0 alone says what was stopped, and nothing partial is left. `VQVAE2_PHASE_SLOWDOWN`
/// stretches the tiny phases so that the signal arrives in the middle.
final class PhaseStopUnderMPITests: XCTestCase {
    private var directory: URL!
    private var config = ""
    private let vqvae2 = TestEnvironment.product("vqvae2")

    /// 160 training and 40 held-out images at 16 pixels, and a tiny model trained for 2 steps.
    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("mpi-phase-stop")
        let prepared = try TinyExperiment.prepareData(in: directory, perClass: 40)
        XCTAssertEqual(prepared.status, 0, prepared.output)
        config = try TinyExperiment.writeConfig(in: directory, steps: 2)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func train() throws {
        let trained = try TestEnvironment.run([vqvae2, "train", "--config", config])
        XCTAssertEqual(trained.status, 0, trained.output)
    }

    /// Starts `arguments` on 2 ranks, sends the launcher SIGTERM once the output holds `started`, and returns
    /// everything printed; the job must end (no rank left).
    private func stopped(_ arguments: [String], once started: String, slowdown: String = "0.5", log: String) throws -> (Int32, String) {
        let job = try LaunchedJob(
            ["-n", "2", vqvae2] + arguments, log: directory.appendingPathComponent(log),
            environment: ["VQVAE2_PHASE_SLOWDOWN": slowdown])
        try job.waitFor(started)
        kill(job.process.processIdentifier, SIGTERM)
        let output = try job.finish()
        let left = try TestEnvironment.run(["pgrep", "-f", "\(vqvae2) \(arguments[0]) --config \(config)"])
        XCTAssertEqual(left.output.trimmingCharacters(in: .whitespacesAndNewlines), "", "ranks left running")
        return (job.process.terminationStatus, output)
    }

    /// Files under the test's directory that a finished write never leaves.
    private func partialFiles() -> [String] {
        let all = FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? []
        return all.filter { $0.hasSuffix(".partial") || $0.contains(".tmp-") }
    }

    private func occurrences(_ text: String, in output: String) -> Int { output.components(separatedBy: text).count - 1 }

    func testSIGTERMDuringEvaluateStopsEveryRankAndWritesNoReport() throws {
        try train()
        let report = directory.path + "/report.json"
        let (status, output) = try stopped(
            ["evaluate", "--config", config, "--batch", "2", "--output", report], once: "40 images, 2 rank(s)",
            log: "evaluate.log")
        XCTAssertNotEqual(status, 0, output)
        XCTAssertEqual(
            occurrences("vqvae2 evaluate: evaluation stopped by a stop signal (SIGUSR1); no report was written", in: output), 1,
            output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: report), output)
        XCTAssertEqual(partialFiles(), [], output)
    }

    func testSIGTERMDuringExtractCodesStopsEveryRankAndLeavesNoPartialShardOrManifest() throws {
        try train()
        let (status, output) = try stopped(["extract-codes", "--config", config], once: "on 2 rank(s)", log: "extract.log")
        XCTAssertNotEqual(status, 0, output)
        XCTAssertEqual(
            occurrences("vqvae2 extract-codes: code extraction stopped by a stop signal (SIGUSR1); no manifest and no partial code shard were written", in: output),
            1, output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + "/codes/manifest.json"), output)
        XCTAssertEqual(partialFiles(), [], output)
    }

    /// Export agrees on stops per dataset with every rank, though only rank 0 writes: on 2 ranks it writes the
    /// same bytes as on one.
    func testExportOnTwoRanksAnswersTheAgreementsAndWritesWhatOneRankWrites() throws {
        try train()
        let checkpoint = directory.path + "/checkpoints/step-00000002"
        func export(_ name: String, ranks: Int) throws -> Data {
            let output = directory.path + "/" + name
            let command = [vqvae2, "checkpoint", "export", checkpoint, "--output", output]
            let result = ranks == 1 ? try TestEnvironment.run(command) : try TestEnvironment.mpirun(ranks: ranks, command)
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertEqual(occurrences("export: \(checkpoint) (step 2) -> \(output)", in: result.output), 1, result.output)
            return try Data(contentsOf: URL(fileURLWithPath: output))
        }
        XCTAssertEqual(try export("two.h5", ranks: 2), try export("one.h5", ranks: 1))
    }

    /// The held-out evaluation at the end of `train`: stopped, it ends the run as a stop at a step boundary does,
    /// with the last step committed and a clean exit; the next run resumes from it.
    func testSIGTERMDuringTheHeldOutEvaluationOfTrainCommitsTheLastStep() throws {
        let (status, output) = try stopped(
            ["train", "--config", config], once: "step 2/2", slowdown: "1", log: "train.log")
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("train: stop requested while evaluating (SIGUSR1); saving and exiting"), output)
        XCTAssertFalse(output.contains("eval: step 2"), "the evaluation was not finished:\n\(output)")
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: directory.path + "/checkpoints/step-00000002/manifest.json"), output)
        XCTAssertEqual(partialFiles(), [], output)
        let resumed = try TestEnvironment.run([vqvae2, "train", "--config", config, "--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("at step 2"), resumed.output)
    }
}
