import Foundation
import TestSupport
import XCTest

/// `vqvae2 checkpoint inspect|export` on a checkpoint of a real two-step training run of a tiny model.
final class CheckpointCommandTests: XCTestCase {
    private var directory: URL!
    private var vqvae2: String { TestEnvironment.product("vqvae2") }
    private var checkpoint: String { directory.path + "/checkpoints/step-00000002" }

    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("checkpoint-command")
        let prepared = try TinyExperiment.prepareData(in: directory, classes: 3, perClass: 4, shards: 1)
        XCTAssertEqual(prepared.status, 0, prepared.output)
        let config = try TinyExperiment.writeConfig(in: directory, globalBatch: 4, steps: 2, checkEvery: 100)
        let trained = try TestEnvironment.run([vqvae2, "train", "--config", config], timeout: 180)
        XCTAssertEqual(trained.status, 0, trained.output)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testInspectListsEveryTensorWithShapeAndChecksumAndShowIsAnAlias() throws {
        let inspect = try TestEnvironment.run([vqvae2, "checkpoint", "inspect", checkpoint], timeout: 60)
        XCTAssertEqual(inspect.status, 0, inspect.output)
        let manifest = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: checkpoint + "/manifest.json"))) as! [String: Any]
        let tensors = manifest["tensors"] as! [[String: Any]]
        XCTAssertEqual(tensors.count, 15)
        for tensor in tensors {
            let line = "\(tensor["name"]!)"
            let shape = "[" + (tensor["shape"] as! [Int]).map(String.init).joined(separator: ", ") + "]"
            let row = inspect.output.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(line + " ") }
            XCTAssertNotNil(row, "inspect lacks \(line):\n\(inspect.output)")
            XCTAssertTrue(row?.contains(shape) == true && row?.contains("crc32 \(tensor["crc32"]!)") == true, "\(row ?? "")")
        }
        XCTAssertTrue(inspect.output.contains("step 2, written by 1 rank(s)"), inspect.output)
        XCTAssertTrue(inspect.output.contains("    model:\n      image_size: 16"), "the config is printed:\n\(inspect.output)")
        let show = try TestEnvironment.run([vqvae2, "checkpoint", "show", checkpoint], timeout: 60)
        XCTAssertEqual(show.output, inspect.output)
    }

    func testExportWritesOneFileAndRefusesToOverwriteWithoutForce() throws {
        let output = directory.path + "/weights.h5"
        let export = try TestEnvironment.run([vqvae2, "checkpoint", "export", checkpoint, "--output", output], timeout: 60)
        XCTAssertEqual(export.status, 0, export.output)
        XCTAssertTrue(export.output.contains("(step 2) -> \(output):"), export.output)
        let dump = try TestEnvironment.run(["h5dump", "-H", output], timeout: 60)
        XCTAssertEqual(dump.status, 0, dump.output)
        for name in ["encoder.bottom.conv1.weight", "upsample.top.weight", "top_prior.output0.weight", "codebook"] {
            XCTAssertTrue(dump.output.contains("DATASET \"\(name)\""), "h5dump lacks \(name)")
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: output))
        let again = try TestEnvironment.run([vqvae2, "checkpoint", "export", checkpoint, "--output", output], timeout: 60)
        XCTAssertEqual(again.status, 1, again.output)
        XCTAssertTrue(again.output.contains("vqvae2: \(output): exists; pass --force to replace it"), again.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), before)
        let forced = try TestEnvironment.run(
            [vqvae2, "checkpoint", "export", checkpoint, "--output", output, "--force"], timeout: 60)
        XCTAssertEqual(forced.status, 0, forced.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), before, "the same checkpoint gives the same bytes")
    }
}
