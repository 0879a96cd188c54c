import Coordination
import DataPipeline
import Foundation
import HDF5
import MPI
import TestSupport
import Training
import XCTest

/// `vqvae2 index` as a run over a coordinator of one rank: what it writes and prints, and what it never overwrites.
/// Tests/MPITests/IndexUnderMPITests runs it on two ranks.
final class IndexRunTests: XCTestCase {
    private var directory: URL!
    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("index-run") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }
    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    private var manifestPath: String { path(ShardManifest.fileName) }

    private func writeShard(_ name: String, labels: [Int64] = [0, 1, 2, 1], gzip: Int? = nil) throws {
        let file = try File(path: path(name), mode: .create)
        let images = try file.root.createDataset(
            "images", type: .uint8, shape: [labels.count, 8, 8, 3], chunk: [1, 8, 8, 3], gzip: gzip)
        try images.write((0..<(labels.count * 192)).map { UInt8($0 % 253) })
        try file.root.writeDataset("labels", labels)
    }

    private func index(force: Bool = false, stop: StopRequest = .never) throws -> (ShardManifest?, [String]) {
        var lines: [String] = []
        let options = IndexOptions(directory: directory.path, patterns: [("train", ["train-*.h5"]), ("heldout", ["val-*.h5"])])
        let manifest = try IndexRun(options: options, force: force).run(coordinator: Coordinator(SingleRank()), stop: stop) {
            lines.append($0)
        }
        return (manifest, lines)
    }

    func testIndexWritesAManifestTrainingOpensAndReplacesOneOnlyWithForce() throws {
        try writeShard("train-0.h5")
        try writeShard("train-1.h5", gzip: 4)
        try writeShard("val-0.h5", labels: [3, 3])
        let (manifest, lines) = try index()
        let output = lines.joined(separator: "\n")
        XCTAssertEqual(manifest?.splits["train"]?.count, 8)
        XCTAssertEqual(manifest?.classes.count, 4, "the label numbers, up to the largest")
        XCTAssertTrue(output.contains("warning: train-1.h5: dataset 'images' is compressed (deflate)"), output)
        XCTAssertTrue(output.contains("CRC-32 of every byte of every shard:"), output)
        XCTAssertTrue(output.contains("train with data.manifest: \(manifestPath) and model.image_size: 8"), output)
        let (opened, set) = try ShardSet.open(manifest: manifestPath, split: "heldout", verify: true)
        XCTAssertEqual(opened, manifest)
        XCTAssertEqual(set.labels, [3, 3])

        let written = try Data(contentsOf: URL(fileURLWithPath: manifestPath))
        try writeShard("train-2.h5")
        XCTAssertThrowsError(try index()) {
            XCTAssertTrue("\($0)".contains("\(manifestPath): already exists; nothing was checked or written (--force replaces it)"), "\($0)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: manifestPath)), written, "not overwritten")
        let (replaced, _) = try index(force: true)
        XCTAssertEqual(replaced?.splits["train"]?.shards.count, 3)
        XCTAssertEqual(try ShardManifest.load(manifestPath), replaced)
    }

    func testABadShardOrAStopLeavesTheManifestThatWasThere() throws {
        try writeShard("train-0.h5")
        try writeShard("val-0.h5")
        try Data("{\"earlier\": true}".utf8).write(to: URL(fileURLWithPath: manifestPath))
        let earlier = try Data(contentsOf: URL(fileURLWithPath: manifestPath))
        try writeShard("train-1.h5", labels: [0, -2])
        XCTAssertThrowsError(try index(force: true)) {
            XCTAssertTrue("\($0)".contains("train-1.h5: dataset 'labels' holds label -2 at row 1"), "\($0)")
        }
        try FileManager.default.removeItem(atPath: path("train-1.h5"))
        XCTAssertThrowsError(try index(force: true, stop: StopRequest(requested: { true }, signalName: { "SIGTERM" }))) {
            XCTAssertTrue($0 is PhaseStopped, "\($0)")
            XCTAssertTrue("\($0)".contains("index: checks stopped by a stop signal (SIGTERM); no manifest was written"), "\($0)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: manifestPath)), earlier)
    }
}
