import Foundation
import TestSupport
import XCTest

/// `vqvae2 train` ends with the held-out report of its last step in `<run.directory>/evaluation.json`, the file
/// `vqvae2 evaluate` writes, so that a run's result needs no second pass over the held-out split.
final class FinalReportTests: XCTestCase {
    func testTrainWritesTheLastStepsHeldOutReportAsEvaluateDoes() throws {
        let directory = try TestEnvironment.temporaryDirectory("final-report")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try TinyExperiment.writeConfig(in: directory, steps: 3)
        let prepared = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(prepared.status, 0, prepared.output)
        let trained = try TestEnvironment.run([TestEnvironment.product("vqvae2"), "train", "--config", config])
        XCTAssertEqual(trained.status, 0, trained.output)
        let path = directory.path + "/run/evaluation.json"
        XCTAssertTrue(trained.output.contains("held-out evaluation: "), "the table is printed: \(trained.output)")
        XCTAssertTrue(trained.output.contains("train: wrote \(path)"), trained.output)
        let fromTrain = try String(contentsOfFile: path, encoding: .utf8)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(fromTrain.utf8)) as? [String: Any])
        XCTAssertEqual(report["step"] as? Int, 3)

        let evaluated = try TestEnvironment.run(
            [TestEnvironment.product("vqvae2"), "evaluate", "--config", config, "--checkpoint", "auto",
             "--output", directory.path + "/evaluate.json"])
        XCTAssertEqual(evaluated.status, 0, evaluated.output)
        XCTAssertEqual(
            try String(contentsOfFile: directory.path + "/evaluate.json", encoding: .utf8), fromTrain,
            "the same report, byte for byte, as evaluate gives for the final checkpoint")
    }
}
