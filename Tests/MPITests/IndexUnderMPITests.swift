import Foundation
import TestSupport
import XCTest

/// `vqvae2 index` with ranks for real: ranks split the shards, the manifest is the one a single rank writes, and a
/// bad shard on one rank fails every rank with nothing written.
final class IndexUnderMPITests: XCTestCase {
    func testTwoRanksIndexAsOneDoesAndABadShardOnEitherFailsBoth() throws {
        let directory = try TestEnvironment.temporaryDirectory("mpi-index")
        defer { try? FileManager.default.removeItem(at: directory) }
        let vqvae2 = TestEnvironment.product("vqvae2")
        let data = directory.appendingPathComponent("data")
        let prepared = try TestEnvironment.run([
            vqvae2, "prepare", "--demo", directory.path + "/src", "--output", data.path, "--image-size", "16",
            "--demo-classes", "3", "--demo-train-per-class", "5", "--demo-val-per-class", "2", "--train-shards", "3",
        ])
        XCTAssertEqual(prepared.status, 0, prepared.output)
        let manifest = data.appendingPathComponent("manifest.json")
        let arguments = [vqvae2, "index", data.path, "--train", "train-*.h5", "--heldout", "heldout-*.h5", "--force"]

        let one = try TestEnvironment.run(arguments, timeout: 120)
        XCTAssertEqual(one.status, 0, one.output)
        let byOne = try Data(contentsOf: manifest)
        let two = try TestEnvironment.mpirun(ranks: 2, arguments, timeout: 120)
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertTrue(two.output.contains("3 train, 1 heldout shard(s) in \(data.path) on 2 rank(s)"), two.output)
        XCTAssertEqual(try Data(contentsOf: manifest), byOne, "the same manifest, byte for byte")

        // Shard 1 of 4 is rank 1's: rank 0 finds nothing wrong and must fail too.
        let shard = data.appendingPathComponent("train-00001-of-00003.h5")
        let bytes = try Data(contentsOf: shard)
        try bytes.prefix(bytes.count / 2).write(to: shard)
        let failed = try TestEnvironment.mpirun(ranks: 2, arguments, timeout: 120)
        XCTAssertEqual(failed.status, 2, "bad input, on every rank: \(failed.output)")
        XCTAssertTrue(failed.output.contains("rank 1: \(shard.path): cannot be opened as an HDF5 file"), failed.output)
        XCTAssertEqual(try Data(contentsOf: manifest), byOne, "nothing written")
    }
}
