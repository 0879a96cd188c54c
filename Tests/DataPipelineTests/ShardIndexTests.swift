import DataPipeline
import Foundation
import HDF5
import Storage
import TestSupport
import XCTest

/// `vqvae2 index`'s library part: existing shards checked one by one and as a set, and the manifest made from them,
/// which `ShardSet` (what training opens) accepts.
final class ShardIndexTests: XCTestCase {
    var directory: URL!
    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("index") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }
    private var folder: String { directory.path }
    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Copies a committed fixture into the test's folder under `name`.
    private func fixture(_ fixture: String, as name: String? = nil) throws {
        try FileManager.default.copyItem(atPath: Self.fixtures.appendingPathComponent(fixture).path, toPath: path(name ?? fixture))
    }

    /// The pixel value of image `image` of a shard written by `writeShard` with `seed`, at byte `offset`.
    private static func pixel(seed: Int, image: Int, offset: Int) -> UInt8 { UInt8((seed * 31 + image * 7 + offset) % 251) }

    /// Writes a shard in the common layout with this module's HDF5 wrapper; every part can be made wrong.
    @discardableResult
    private func writeShard(
        _ name: String, imagesName: String = "images", labelsName: String = "labels",
        type: ElementType = .uint8, shape: [Int] = [3, 8, 8, 3], labels: [Int64]? = [0, 1, 2],
        chunk: [Int]? = [1, 8, 8, 3], gzip: Int? = nil, classNames: String? = nil, seed: Int = 0
    ) throws -> String {
        let file = try File(path: path(name), mode: .create)
        let images = try file.root.createDataset(imagesName, type: type, shape: shape, chunk: chunk, gzip: gzip)
        if type == .uint8 {
            let row = shape.dropFirst().reduce(1, *)
            try images.write((0..<shape.reduce(1, *)).map { Self.pixel(seed: seed, image: $0 / row, offset: $0 % row) })
        }
        if let labels { try file.root.writeDataset(labelsName, labels) }
        if let classNames { try file.root.setAttribute("class_names", classNames) }
        return path(name)
    }

    /// The whole of `vqvae2 index` on one process: select, check each, check the set, checksum, write the manifest.
    @discardableResult
    private func index(
        train: [String] = ["train-*.h5"], heldout: [String] = ["val-*.h5"], names: DatasetNames = DatasetNames(),
        namesFile: String? = nil
    ) throws -> (ShardIndex, ShardManifest) {
        let selection = try ShardSelection(directory: folder, patterns: [("train", train), ("heldout", heldout)])
        let classes = try namesFile.map { try ClassNames(file: $0) }
        let checks = try selection.files.map {
            try ShardCheck(directory: folder, file: $0, names: names, classCount: classes?.names.count)
        }
        let index = try ShardIndex(selection: selection, checks: checks, names: names, namesFile: classes)
        let manifest = index.manifest(entries: try checks.map {
            try ShardManifest.Shard(describing: path($0.file), count: $0.count)
        })
        try manifest.save(path(ShardManifest.fileName))
        return (index, manifest)
    }

    private func assertFails(
        _ what: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
    ) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { error in
            for part in expected {
                XCTAssertTrue("\(error)".contains(part), "\(what): '\(part)' missing from: \(error)", file: file, line: line)
            }
        }
    }

    func testIndexedShardsOpenAsTrainingOpensThemAndLoadABatch() throws {
        let names = DatasetNames(images: "x", labels: "y")
        try writeShard("train-2.h5", imagesName: "x", labelsName: "y", labels: [2, 0, 1], classNames: "a\nb\nc", seed: 2)
        try writeShard("train-10.h5", imagesName: "x", labelsName: "y", labels: [1, 1, 0], classNames: "a\nb\nc", seed: 10)
        try writeShard("val-0.h5", imagesName: "x", labelsName: "y", labels: [2, 2, 2], seed: 5)
        let (index, manifest) = try index(names: names)
        XCTAssertEqual(manifest.splits["train"]?.shards.map(\.file), ["train-2.h5", "train-10.h5"], "natural name order")
        XCTAssertEqual(manifest.splits["heldout"]?.count, 3)
        XCTAssertEqual(manifest.imageSize, 8)
        XCTAssertEqual(manifest.classes.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(manifest.datasetNames, names)
        XCTAssertEqual(index.classNames.origin, "attribute 'class_names' of train-2.h5")
        XCTAssertTrue(index.warnings.isEmpty, "one uncompressed image per chunk costs nothing: \(index.warnings)")
        XCTAssertEqual(manifest.splits["train"]?.shards[0].crc32, String(format: "%08x", try CRC32.file(path("train-2.h5"))))

        let (loaded, set) = try ShardSet.open(manifest: path(ShardManifest.fileName), split: "train", verify: true)
        XCTAssertEqual(loaded, manifest)
        XCTAssertEqual(set.labels, [2, 0, 1, 1, 1, 0])
        let sampler = try DistributedSampler(count: set.count, globalBatch: 4, rank: 0, worldSize: 1, seed: 1)
        let loader = BatchLoader(shards: set, schedule: .training(sampler, start: DataPosition(), flip: false))
        let batch = try XCTUnwrap(try loader.next())
        XCTAssertEqual(batch.count, 4)
        let pixels = batch.images.array, row = 8 * 8 * 3
        for (slot, sample) in batch.indices.enumerated() {
            let (seed, image) = sample < 3 ? (2, Int(sample)) : (10, Int(sample) - 3)
            XCTAssertEqual(batch.labels[slot], set.labels[Int(sample)])
            for offset in [0, 100, row - 1] {
                let expected = Float(Self.pixel(seed: seed, image: image, offset: offset)) * (2 / 255) - 1
                XCTAssertEqual(pixels[slot * row + offset], expected, accuracy: 1e-6, "sample \(sample) byte \(offset)")
            }
        }
    }

    func testClassNamesComeFromAFileTheShardsOrTheLabelNumbers() throws {
        try fixture("h5py_names_dataset.h5", as: "train-0.h5")
        try fixture("h5py_names_attribute.h5", as: "val-0.h5")
        let (fromShards, manifest) = try index()
        XCTAssertEqual(manifest.classes.map(\.name), ["cat", "dog", "fox"], "h5py's fixed-length bytes and list of str")
        XCTAssertEqual(fromShards.classNames.origin, "dataset 'class_names' of train-0.h5")

        let names = path("names.txt")
        try "ant\nbee\ncow\nyak\n".write(toFile: names, atomically: true, encoding: .utf8)
        let (fromFile, _) = try index(namesFile: names)
        XCTAssertEqual(fromFile.classNames.names, ["ant", "bee", "cow", "yak"], "the file wins over the shards")
        try "ant\n\nbee\n".write(toFile: names, atomically: true, encoding: .utf8)
        assertFails("blank line", ["names.txt: line 2 is blank"]) { try index(namesFile: names) }
        try "ant\nbee\n".write(toFile: names, atomically: true, encoding: .utf8)
        assertFails("label beyond the file's classes", ["train-0.h5: dataset 'labels' holds label 2 at row 2, outside 0..<2"]) {
            try index(namesFile: names)
        }

        try FileManager.default.removeItem(atPath: path("val-0.h5"))
        try writeShard("val-0.h5", labels: [0, 1, 2], classNames: "cat\ndog")
        assertFails("shards that disagree", ["val-0.h5: attribute 'class_names' of val-0.h5 lists 2 classes (cat, dog)", "lists 3"]) {
            try index()
        }

        for file in ["train-0.h5", "val-0.h5"] { try FileManager.default.removeItem(atPath: path(file)) }
        try writeShard("train-0.h5", labels: [0, 4, 1])
        try writeShard("val-0.h5", labels: [2, 2, 2])
        let (numbered, _) = try index()
        XCTAssertEqual(numbered.classNames.names, ["0", "1", "2", "3", "4"], "up to the largest label of any shard")
    }

    func testBadShardsNameTheFileAndTheField() throws {
        try writeShard("val-0.h5")
        let cases: [(String, () throws -> Void, [String])] = [
            ("wrong dtype", { try self.writeShard("train-0.h5", type: .int16) },
             ["train-0.h5: dataset 'images' holds int16, expected uint8"]),
            ("16-bit pixels", { try self.fixture("h5py_names_dataset.h5", as: "train-0.h5") },
             ["train-0.h5: dataset 'wide' holds uint16, expected uint8"]),
            ("rank 3", { try self.writeShard("train-0.h5", shape: [3, 8, 8], chunk: nil) },
             ["train-0.h5: dataset 'images' has shape [3, 8, 8], expected [N, S, S, 3]"]),
            ("RGBA", { try self.writeShard("train-0.h5", shape: [3, 8, 8, 4], chunk: nil) },
             ["train-0.h5: dataset 'images' has shape [3, 8, 8, 4]"]),
            ("not square", { try self.writeShard("train-0.h5", shape: [3, 8, 16, 3], chunk: nil) },
             ["train-0.h5: dataset 'images' holds 8x16 images, expected square ones"]),
            ("not a multiple of 8", { try self.writeShard("train-0.h5", shape: [3, 12, 12, 3], chunk: nil) },
             ["train-0.h5: dataset 'images' holds 12x12 images", "multiple of 8"]),
            ("another size than the other shards", { try self.writeShard("train-0.h5", shape: [3, 16, 16, 3], chunk: nil) },
             ["val-0.h5: dataset 'images' holds 8x8 images, train-0.h5's are 16x16"]),
            ("negative label", { try self.writeShard("train-0.h5", labels: [0, -1, 2]) },
             ["train-0.h5: dataset 'labels' holds label -1 at row 1"]),
            ("label count", { try self.writeShard("train-0.h5", labels: [0, 1]) },
             ["train-0.h5: dataset 'labels' has 2 labels but dataset 'images' has 3 images"]),
            ("float labels", {
                let file = try File(path: self.path("train-0.h5"), mode: .create)
                try file.root.writeDataset("images", [UInt8](repeating: 0, count: 3 * 192), shape: [3, 8, 8, 3])
                try file.root.writeDataset("labels", [Float(0), 1, 2])
            }, ["train-0.h5: dataset 'labels' must be a 1-D integer array, found float32 [3]"]),
            ("no labels", { try self.writeShard("train-0.h5", labels: nil) },
             ["train-0.h5: no dataset 'labels' (the labels; --labels-dataset names another); the file has: images"]),
            ("no images", { try self.writeShard("train-0.h5", imagesName: "pixels") },
             ["train-0.h5: no dataset 'images' (the images; --images-dataset names another); the file has: labels, pixels"]),
            ("LZF", { try self.fixture("h5py_lzf_shard.h5", as: "train-0.h5") },
             ["train-0.h5: dataset 'images' uses HDF5 filter 32000 (lzf), which this HDF5 library lacks",
              "compression='gzip'", "HDF5_PLUGIN_PATH"]),
            ("not HDF5", { try "not a shard".write(toFile: self.path("train-0.h5"), atomically: true, encoding: .utf8) },
             ["train-0.h5: cannot be opened as an HDF5 file (11 bytes)"]),
            ("a corrupt chunk", {
                try self.writeShard("train-0.h5", gzip: 9)
                // zlib streams at level 9 start 78 DA: the first is the first chunk's, written after the metadata.
                var bytes = try Data(contentsOf: URL(fileURLWithPath: self.path("train-0.h5")))
                let start = try XCTUnwrap((0..<bytes.count - 1).first { bytes[$0] == 0x78 && bytes[$0 + 1] == 0xDA })
                for i in start + 2..<start + 10 { bytes[i] = 0xFF }
                try bytes.write(to: URL(fileURLWithPath: self.path("train-0.h5")))
            }, ["train-0.h5: dataset 'images' cannot be read (truncated or corrupt?)", "reading rows 0..<1 failed"]),
            ("truncated", {
                try self.writeShard("train-0.h5")
                let bytes = try Data(contentsOf: URL(fileURLWithPath: self.path("train-0.h5")))
                try bytes.prefix(bytes.count - 200).write(to: URL(fileURLWithPath: self.path("train-0.h5")))
            }, ["train-0.h5: cannot be opened as an HDF5 file", "truncated"]),
        ]
        for (what, make, expected) in cases {
            try? FileManager.default.removeItem(atPath: path("train-0.h5"))
            try make()
            let names = what == "16-bit pixels" ? DatasetNames(images: "wide") : DatasetNames()
            assertFails(what, expected) { try index(names: names) }
            XCTAssertFalse(FileManager.default.fileExists(atPath: path(ShardManifest.fileName)), "\(what): no manifest")
        }
    }

    func testPatternsChooseTheFilesOfEachSplit() throws {
        try writeShard("train-0.h5")
        try writeShard("train-1.h5")
        try writeShard("val-0.h5")
        try "{}".write(toFile: path(ShardManifest.fileName), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: path("train-sub.h5"), withIntermediateDirectories: false)
        let selection = try ShardSelection(
            directory: folder, patterns: [("train", ["train-*", "train-1.h5"]), ("heldout", ["v*", "val-0.h5"])])
        XCTAssertEqual(selection.splits.map(\.files), [["train-0.h5", "train-1.h5"], ["val-0.h5"]], "files, not the folder")
        XCTAssertEqual(selection.positions(forRank: 0, of: 2), [0, 2])
        XCTAssertEqual(selection.positions(forRank: 1, of: 2), [1])
        let everything = try ShardSelection(directory: folder, patterns: [("train", ["*"])])
        XCTAssertEqual(everything.files, ["train-0.h5", "train-1.h5", "val-0.h5"], "never the manifest")
        assertFails("no match", [folder + ": no file matches the heldout pattern 'test-*.h5'", "train-0.h5, train-1.h5, val-0.h5"]) {
            _ = try ShardSelection(directory: folder, patterns: [("train", ["train-*.h5"]), ("heldout", ["test-*.h5"])])
        }
        assertFails("two splits", ["train-0.h5: matches both the train and the heldout patterns"]) {
            _ = try ShardSelection(directory: folder, patterns: [("train", ["train-*.h5"]), ("heldout", ["*-0.h5"])])
        }
        assertFails("a subfolder", ["the train pattern 'sub/*.h5' holds a '/'"]) {
            _ = try ShardSelection(directory: folder, patterns: [("train", ["sub/*.h5"])])
        }
        assertFails("no pattern", ["no pattern chooses the train shards"]) {
            _ = try ShardSelection(directory: folder, patterns: [("train", [])])
        }
        assertFails("no folder", [path("absent") + ": is not a folder"]) {
            _ = try ShardSelection(directory: path("absent"), patterns: [("train", ["*"])])
        }
    }

    func testSlowLayoutsAreWarnedOfWithTheirCost() throws {
        try writeShard("train-0.h5", chunk: [1, 8, 8, 3], gzip: 4)
        try writeShard("train-1.h5", chunk: [1, 8, 8, 3], gzip: 4)
        try writeShard("train-2.h5", chunk: [3, 8, 8, 3])
        try writeShard("train-3.h5", chunk: nil)
        try fixture("h5py_names_attribute.h5", as: "val-0.h5")
        let (index, _) = try index()
        let warnings = index.warnings
        XCTAssertEqual(warnings.map(\.files), [["train-0.h5", "train-1.h5"], ["train-2.h5"], ["val-0.h5"]], "contiguous is fine")
        XCTAssertTrue(warnings[0].text.contains(
            "dataset 'images' is compressed (deflate): every random image read decompresses its chunk, so the loader's "
                + "one reader thread gives about 57000 images/s, against about 64000 with uncompressed one-image chunks"),
            warnings[0].text)
        XCTAssertTrue(warnings[1].text.contains(
            "holds 3 images per chunk: HDF5 reads a chunk this small (3 images of 192 bytes) whole, so every random "
                + "image read reads 3x the bytes: about 64000 images/s from the page cache"), warnings[1].text)
        XCTAssertTrue(warnings[2].text.contains("is compressed (deflate) with 2 images per chunk"), warnings[2].text)
        XCTAssertTrue(warnings[2].text.contains("about 51000 images/s"), warnings[2].text)
        XCTAssertTrue(warnings.allSatisfy { $0.text.contains("chunks=(1, S, S, 3)") }, "each says what to do")
    }

    func testTheEstimateOfAWarningIsNearWhatWasMeasured() throws {
        // docs/DATA.md measured 196 images/s for gzip with 64 images of 64x64 per chunk, 63,900 uncompressed.
        try writeShard("train-0.h5", shape: [64, 64, 64, 3], labels: [Int64](repeating: 0, count: 64), chunk: [64, 64, 64, 3], gzip: 1)
        try writeShard("val-0.h5", shape: [1, 64, 64, 3], labels: [0], chunk: [1, 64, 64, 3])
        let text = try index().0.warnings[0].text
        XCTAssertTrue(text.contains("about 130 images/s, against about 47000 with uncompressed one-image chunks"), text)
    }
}
