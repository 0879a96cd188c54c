import Foundation
import TestSupport
import XCTest

/// `vqvae2 checkpoint export` meeting a full disk (`VQVAE2_CHECKPOINT_FAULT=enospc-export`, whose writes the
/// kernel refuses with ENOSPC): the message says so and names the output, and nothing of the export is left.
final class ExportFullDiskTests: XCTestCase {
    private var directory: URL!
    private var vqvae2: String { TestEnvironment.product("vqvae2") }
    private var checkpoint: String { directory.path + "/checkpoints/step-00000002" }

    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("export-full-disk")
        let prepared = try TinyExperiment.prepareData(in: directory, classes: 3, perClass: 4, shards: 1)
        XCTAssertEqual(prepared.status, 0, prepared.output)
        let config = try TinyExperiment.writeConfig(in: directory, globalBatch: 4, steps: 2, checkEvery: 100)
        let trained = try TestEnvironment.run([vqvae2, "train", "--config", config], timeout: 180)
        XCTAssertEqual(trained.status, 0, trained.output)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func export(_ output: String, _ extra: [String] = [], full: Bool) throws -> ProcessResult {
        try TestEnvironment.run(
            [vqvae2, "checkpoint", "export", checkpoint, "--output", output] + extra,
            environment: full ? ["VQVAE2_CHECKPOINT_FAULT": "enospc-export"] : [:], timeout: 60)
    }

    func testAFullDiskFailsTheExportNamingTheOutputAndKeepsTheFileThatWasThere() throws {
        let output = directory.path + "/weights.h5"
        let failed = try export(output, full: true)
        XCTAssertEqual(failed.status, 1, failed.output)
        XCTAssertTrue(failed.output.contains("vqvae2: \(output): not written (nothing of it is left): \(output).tmp-"), failed.output)
        XCTAssertTrue(failed.output.contains("no space left on device (ENOSPC)"), failed.output)
        XCTAssertFalse(failed.output.contains("corrupt"), failed.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("weights") }, [])

        XCTAssertEqual(try export(output, full: false).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: output))
        let replacing = try export(output, ["--force"], full: true)
        XCTAssertEqual(replacing.status, 1, replacing.output)
        XCTAssertTrue(replacing.output.contains("\(output): not written (the file already there is untouched)"), replacing.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("weights") }, ["weights.h5"])
    }
}
