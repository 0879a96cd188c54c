import Foundation
import TestSupport
import XCTest

/// `vqvae2 index` as users run it: its help, and shards that `prepare` wrote, adopted without their manifest and
/// then trained on.
final class IndexCommandTests: XCTestCase {
    private var vqvae2: String { TestEnvironment.product("vqvae2") }

    func testHelpTeachesTheLayoutTheChecksAndTheirCost() throws {
        let top = try TestEnvironment.run([vqvae2, "--help"], timeout: 60)
        XCTAssertTrue(top.output.contains("  index"), top.output)
        let help = try TestEnvironment.run([vqvae2, "index", "--help"], timeout: 60)
        XCTAssertEqual(help.status, 0, help.output)
        for part in [
            "`images` uint8 [N, S, S, 3]", "f.create_dataset('images', data=x, chunks=(1, S, S, 3))",
            "--train 'train-*.h5' --heldout 'val-*.h5'", "--class-names", "h5py's LZF", "700-800 MB/s", "--force",
            "shard i on rank i mod ranks",
        ] {
            XCTAssertTrue(help.output.contains(part), "help lacks \(part):\n\(help.output)")
        }
        let missing = try TestEnvironment.run([vqvae2, "index", "/tmp", "--train", "*.h5"], timeout: 60)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("give at least one --heldout pattern"), missing.output)
    }

    func testPreparedShardsAreAdoptedAndAManifestIsNotOverwritten() throws {
        let directory = try TestEnvironment.temporaryDirectory("index-command")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data")
        let prepared = try TestEnvironment.run([
            vqvae2, "prepare", "--demo", directory.path + "/src", "--output", data.path, "--image-size", "16",
            "--demo-classes", "3", "--demo-train-per-class", "4", "--demo-val-per-class", "2", "--train-shards", "2",
        ])
        XCTAssertEqual(prepared.status, 0, prepared.output)
        let manifest = data.appendingPathComponent("manifest.json")
        let fromPrepare = try JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as! [String: Any]
        try FileManager.default.removeItem(at: manifest)

        let arguments = [vqvae2, "index", data.path, "--train", "train-*.h5", "--heldout", "heldout-*.h5"]
        let indexed = try TestEnvironment.run(arguments, timeout: 120)
        XCTAssertEqual(indexed.status, 0, indexed.output)
        XCTAssertTrue(indexed.output.contains("train: 12 images in 2 shard(s)"), indexed.output)
        XCTAssertTrue(indexed.output.contains("3 classes, named by attribute 'class_names' of train-00000-of-00002.h5"), indexed.output)
        let written = try Data(contentsOf: manifest)
        let fromIndex = try JSONSerialization.jsonObject(with: written) as! [String: Any]
        for key in ["splits", "classes", "imageSize", "datasetNames", "kind"] {
            let same = try [fromPrepare, fromIndex].map { try JSONSerialization.data(withJSONObject: [$0[key]!], options: .sortedKeys) }
            XCTAssertEqual(same[0], same[1], "\(key): the same as prepare's own manifest")
        }

        let again = try TestEnvironment.run(arguments, timeout: 120)
        XCTAssertEqual(again.status, 2, "bad input: \(again.output)")
        XCTAssertTrue(again.output.contains("manifest.json: already exists; nothing was checked or written (--force replaces it)"), again.output)
        XCTAssertEqual(try Data(contentsOf: manifest), written)
        let forced = try TestEnvironment.run(arguments + ["--force"], timeout: 120)
        XCTAssertEqual(forced.status, 0, forced.output)

        let config = try TinyExperiment.writeConfig(in: directory, globalBatch: 4, steps: 2)
        let trained = try TestEnvironment.run([vqvae2, "train", "--config", config], timeout: 300)
        XCTAssertEqual(trained.status, 0, "training takes the indexed manifest: \(trained.output)")
        XCTAssertTrue(trained.output.contains("step 2/2"), trained.output)
    }
}
