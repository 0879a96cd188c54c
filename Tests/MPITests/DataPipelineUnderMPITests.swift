import Foundation
import TestSupport
import XCTest

/// `vqvae2 prepare` and the loader with ranks for real: shards split over ranks, identical output for any rank count,
/// and loaders whose ranks together read what one rank would.
final class DataPipelineUnderMPITests: XCTestCase {
    func testPrepareOnTwoRanksMatchesOneAndTheLoaderSplitsBatches() throws {
        let directory = try TestEnvironment.temporaryDirectory("mpi-prepare")
        defer { try? FileManager.default.removeItem(at: directory) }
        let vqvae2 = TestEnvironment.product("vqvae2")
        let small = ["--image-size", "16", "--demo-classes", "4", "--demo-train-per-class", "15", "--demo-val-per-class", "3",
                     "--train-shards", "3"]
        let two = try TestEnvironment.mpirun(
            ranks: 2, [vqvae2, "prepare", "--demo", directory.path + "/src", "--output", directory.path + "/two"] + small)
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertTrue(two.output.contains("train: 60 images in 3 shard(s)"), two.output)
        XCTAssertTrue(two.output.contains("heldout: 12 images in 1 shard(s)"), two.output)
        let one = try TestEnvironment.run(
            [vqvae2, "prepare", "--source", directory.path + "/src", "--output", directory.path + "/one"] + small)
        XCTAssertEqual(one.status, 0, one.output)
        let manifests = try ["one", "two"].map {
            try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("\($0)/manifest.json"))) as! [String: Any]
        }
        let splits = try manifests.map { try JSONSerialization.data(withJSONObject: $0["splits"]!, options: .sortedKeys) }
        XCTAssertEqual(splits[0], splits[1], "same shards, same checksums")

        let again = try TestEnvironment.run([vqvae2, "prepare", "--source", directory.path + "/src", "--output", directory.path + "/one"] + small)
        XCTAssertTrue(again.output.contains("nothing to do"), again.output)

        let loader = try TestEnvironment.mpirun(
            ranks: 2, [TestEnvironment.product("mpi-checks"), "loader", directory.path + "/two/manifest.json"])
        XCTAssertEqual(loader.status, 0, loader.output)
        XCTAssertEqual(loader.output.components(separatedBy: "loader ok").count - 1, 2, loader.output)
        let three = try TestEnvironment.mpirun(
            ranks: 3, [TestEnvironment.product("mpi-checks"), "loader", directory.path + "/two/manifest.json"])
        XCTAssertEqual(three.status, 0, three.output)
        XCTAssertEqual(three.output.components(separatedBy: "loader ok").count - 1, 3, three.output)
    }
}
