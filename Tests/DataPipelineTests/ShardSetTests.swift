import DataPipeline
import Foundation
import HDF5
import TestSupport
import XCTest

final class ShardSetTests: XCTestCase {
    var directory: URL!
    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("shards") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }
    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private let h5pyShard = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/h5py_shard.h5").path

    func testAShardWrittenByH5pyWithItsOwnNamesLoads() throws {
        let set = try ShardSet.images(paths: [h5pyShard], names: DatasetNames(images: "x", labels: "y"), imageSize: 16)
        XCTAssertEqual(set.count, 6)
        XCTAssertEqual(set.labels, [0, 2, 1, 2, 0, 1])
        var sum = 0
        var row = [UInt8](repeating: 0, count: 16 * 16 * 3)
        for i in 0..<6 {
            try row.withUnsafeMutableBufferPointer { try set.read(field: 0, index: i, into: $0) }
            sum += row.reduce(0) { $0 + Int($1) }
            if i == 0 { XCTAssertEqual(Array(row[0..<3]), [139, 74, 229]) }
            if i == 5 { XCTAssertEqual(Array(row.suffix(3)), [148, 168, 12]) }
        }
        XCTAssertEqual(sum, 589_028, "the sum make_h5py_shard.py printed")
        XCTAssertThrowsError(try ShardSet.images(paths: [h5pyShard])) { error in
            XCTAssertTrue("\(error)".contains("h5py_shard.h5: no dataset 'labels'"), "\(error)")
            XCTAssertTrue("\(error)".contains("x, y"), "lists what the file has: \(error)")
        }
    }

    private func writeShard(
        _ name: String, imageType: ElementType = .uint8, imageShape: [Int] = [3, 8, 8, 3], labels: [Int64]? = [0, 1, 2]
    ) throws -> String {
        let file = try File(path: path(name), mode: .create)
        _ = try file.root.createDataset("images", type: imageType, shape: imageShape)
        if let labels { try file.root.writeDataset("labels", labels) }
        return path(name)
    }

    func testBadShardsNameTheFileAndTheDataset() throws {
        let cases: [(String, () throws -> String, String)] = [
            ("float images", { try self.writeShard("float.h5", imageType: .float32) }, "float.h5: dataset 'images' holds float32, expected uint8"),
            ("wrong rank", { try self.writeShard("rank.h5", imageShape: [3, 8, 8]) }, "rank.h5: dataset 'images' has rank 3"),
            ("wrong channels", { try self.writeShard("rgba.h5", imageShape: [3, 8, 8, 4]) }, "rgba.h5: dataset 'images' has shape [3, 8, 8, 4]"),
            ("missing labels", { try self.writeShard("nolabels.h5", labels: nil) }, "nolabels.h5: no dataset 'labels'"),
            ("row mismatch", { try self.writeShard("rows.h5", labels: [0, 1]) }, "rows.h5: dataset 'images' has 3 rows but 'labels' has 2"),
            ("label range", { try self.writeShard("range.h5", labels: [0, 1, 7]) }, "range.h5: dataset 'labels' holds label 7 outside 0..<3"),
        ]
        for (what, make, expected) in cases {
            let file = try make()
            XCTAssertThrowsError(try ShardSet.images(paths: [file], imageSize: 8, classCount: 3), what) {
                XCTAssertTrue("\($0)".contains(expected), "\(what): \($0)")
            }
        }
        XCTAssertThrowsError(try ShardSet.images(paths: [try writeShard("size.h5")], imageSize: 16)) {
            XCTAssertTrue("\($0)".contains("size.h5: dataset 'images' has shape [3, 8, 8, 3], expected rows of [\"16\", \"16\", \"3\"]"), "\($0)")
        }
    }

    func testTruncatedAndTamperedShardsAreCaughtThroughTheManifest() throws {
        let root = try SourceTree.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let output = path("prepared")
        let job = try PrepareJob(options: PrepareOptions(source: root.path, output: output, imageSize: 16, trainShards: 2))
        try job.manifest(outcomes: try job.shards.map { try job.convert($0) }).save(output + "/manifest.json")
        let manifest = output + "/manifest.json"
        XCTAssertNoThrow(try ShardSet.open(manifest: manifest, split: "heldout", verify: true))
        XCTAssertThrowsError(try ShardSet.open(manifest: manifest, split: "validation")) {
            XCTAssertTrue("\($0)".contains("no split 'validation'"), "\($0)")
        }

        let shard = output + "/train-00001-of-00002.h5"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: shard))
        bytes[bytes.count - 100] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: shard))
        XCTAssertNoThrow(try ShardSet.open(manifest: manifest, split: "train"), "same size: only the checksum sees it")
        XCTAssertThrowsError(try ShardSet.open(manifest: manifest, split: "train", verify: true)) {
            XCTAssertTrue("\($0)".contains("train-00001-of-00002.h5: CRC-32"), "\($0)")
        }
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: shard))
        XCTAssertThrowsError(try ShardSet.open(manifest: manifest, split: "train")) {
            XCTAssertTrue("\($0)".contains("train-00001-of-00002.h5: is"), "\($0)")
            XCTAssertTrue("\($0)".contains("truncated"), "\($0)")
        }
        // Read directly, without the manifest, a truncated shard still fails with its name.
        XCTAssertThrowsError(try {
            let set = try ShardSet.images(paths: [shard])
            var row = [UInt8](repeating: 0, count: 16 * 16 * 3)
            for i in 0..<set.count { try row.withUnsafeMutableBufferPointer { try set.read(field: 0, index: i, into: $0) } }
        }()) { XCTAssertTrue("\($0)".contains("train-00001-of-00002.h5"), "\($0)") }

        try FileManager.default.removeItem(atPath: shard)
        XCTAssertThrowsError(try ShardSet.open(manifest: manifest, split: "train")) {
            XCTAssertTrue("\($0)".contains("lists train-00001-of-00002.h5, which is not there"), "\($0)")
        }
        try Data("{\"format\": \"vqvae2.shards.v1\"}".utf8).write(to: URL(fileURLWithPath: manifest))
        XCTAssertThrowsError(try ShardSet.open(manifest: manifest, split: "train")) {
            XCTAssertTrue("\($0)".contains("manifest.json: missing field"), "\($0)")
        }
    }

    func testCodeShardsLoadAndCheckTheirShapes() throws {
        let file = try File(path: path("codes.h5"), mode: .create)
        try file.root.writeDataset("top", (0..<(2 * 4 * 4)).map { Int16($0) }, shape: [2, 4, 4])
        try file.root.writeDataset("bottom", (0..<(2 * 8 * 8)).map { Int16($0 % 500) }, shape: [2, 8, 8])
        try file.root.writeDataset("labels", [Int64(1), 0])
        try file.root.writeDataset("bad", (0..<(2 * 6 * 6)).map { Int16($0) }, shape: [2, 6, 6])
        let set = try ShardSet.codes(paths: [path("codes.h5")])
        XCTAssertEqual(set.rowShapes, [[4, 4], [8, 8]])
        var top = [Int32](repeating: 0, count: 16)
        try top.withUnsafeMutableBufferPointer { try set.read(field: 0, index: 1, into: $0) }
        XCTAssertEqual(top.first, 16)
        XCTAssertThrowsError(try ShardSet.codes(paths: [path("codes.h5")], names: DatasetNames(bottom: "bad"))) {
            XCTAssertTrue("\($0)".contains("not twice the top codes"), "\($0)")
        }
    }
}
