@testable import DataPipeline
import Foundation
import TestSupport
import XCTest

final class IDXSourceTests: XCTestCase {
    private func options(_ root: URL, output: URL, names: ClassNameSource? = .numbers) -> PrepareOptions {
        PrepareOptions(source: root.path, output: output.path, imageSize: 8, trainShards: 2, classNames: names)
    }

    private func assertFails(_ body: @autoclosure () throws -> Any, naming path: String, _ phrase: String, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path), "names \(path): \(text)", line: line)
            XCTAssertTrue(text.contains(phrase), "says '\(phrase)': \(text)", line: line)
        }
    }

    func testIDXFilesConvertToGreyRGBShardsWithTestAsHeldOut() throws {
        let root = try IDXTree.make()
        let output = try TestEnvironment.temporaryDirectory("idx-prepared")
        defer {
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: output)
        }
        let job = try PrepareJob(options: options(root, output: output))
        XCTAssertEqual(job.classes.map(\.name), ["0", "1", "2"])
        let outcomes = try job.shards.map { try job.convert($0) }
        let manifest = job.manifest(outcomes: outcomes)
        try manifest.save(output.path + "/manifest.json")
        XCTAssertEqual(manifest.splits["train"]?.count, 12)
        XCTAssertEqual(manifest.splits["heldout"]?.count, 6)
        XCTAssertEqual(manifest.skipped, [])

        for (split, count) in [("train", 12), ("heldout", 6)] {
            let (_, set) = try ShardSet.open(manifest: output.path + "/manifest.json", split: split, verify: true)
            XCTAssertEqual(set.rowShapes, [[8, 8, 3]])
            var seen: Set<UInt8> = []
            var row = [UInt8](repeating: 0, count: 8 * 8 * 3)
            for i in 0..<set.count {
                try row.withUnsafeMutableBufferPointer { try set.read(field: 0, index: i, into: $0) }
                XCTAssertTrue(row.allSatisfy { $0 == row[0] }, "a uniform grey image stays uniform and grey")
                XCTAssertEqual(Int32(row[0] % 20), set.labels[i], "\(split) image \(i) keeps its own label")
                seen.insert(row[0])
            }
            XCTAssertEqual(seen.count, count, "every \(split) image exactly once")
        }
    }

    func testClassNamesAreGivenNeverGuessed() throws {
        let root = try IDXTree.make(classes: 3)
        let output = try TestEnvironment.temporaryDirectory("idx-names")
        defer {
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: output)
        }
        assertFails(try PrepareJob(options: options(root, output: output, names: nil)), naming: root.path, "--class-names")
        XCTAssertEqual(
            try PrepareJob(options: options(root, output: output, names: .fashionMNIST)).classes.map(\.name),
            ClassNameSource.fashionMNISTNames)
        let namesFile = root.path + "/names.txt"
        try "cat\ndog\nbird\n".write(toFile: namesFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(
            try PrepareJob(options: options(root, output: output, names: .file(namesFile))).classes.map(\.name),
            ["cat", "dog", "bird"])
        try "cat\ndog\n".write(toFile: namesFile, atomically: true, encoding: .utf8)
        assertFails(
            try PrepareJob(options: options(root, output: output, names: .file(namesFile))),
            naming: root.path + "/train-labels-idx1-ubyte.gz", "label 2 has no name")
        XCTAssertEqual(ClassNameSource(argument: "fashion-mnist"), .fashionMNIST)
        XCTAssertEqual(ClassNameSource(argument: "numbers"), .numbers)
        XCTAssertEqual(ClassNameSource(argument: "names.txt"), .file("names.txt"))

        let folder = try SourceTree.make()
        defer { try? FileManager.default.removeItem(at: folder) }
        assertFails(try PrepareJob(options: options(folder, output: output)), naming: folder.path, "LOC_synset_mapping.txt")
    }

    func testBadFilesAreNamedWithTheReason() throws {
        let root = try IDXTree.make()
        let output = try TestEnvironment.temporaryDirectory("idx-bad")
        defer {
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: output)
        }
        let images = root.path + "/t10k-images-idx3-ubyte"
        let labels = root.path + "/t10k-labels-idx1-ubyte"
        let good = try Data(contentsOf: URL(fileURLWithPath: images))
        let goodLabels = try Data(contentsOf: URL(fileURLWithPath: labels))

        try good.prefix(good.count - 5).write(to: URL(fileURLWithPath: images))
        assertFails(try PrepareJob(options: options(root, output: output)), naming: images, "truncated: the header promises 6x6x6 = 216 bytes")
        try good.prefix(10).write(to: URL(fileURLWithPath: images))
        assertFails(try PrepareJob(options: options(root, output: output)), naming: images, "shorter than the 16-byte header")
        try (good + Data([1])).write(to: URL(fileURLWithPath: images))
        assertFails(try PrepareJob(options: options(root, output: output)), naming: images, "trailing bytes")
        try goodLabels.write(to: URL(fileURLWithPath: images))
        assertFails(try PrepareJob(options: options(root, output: output)), naming: images, "wrong magic number 0x00000801")
        try good.write(to: URL(fileURLWithPath: images))

        try Data(IDXTree.idx([5], IDXTree.labels(5, classes: 3))).write(to: URL(fileURLWithPath: labels))
        assertFails(try PrepareJob(options: options(root, output: output)), naming: labels, "5 labels for the 6 images of \(images)")
        try goodLabels.write(to: URL(fileURLWithPath: labels))

        let gzipped = root.path + "/train-images-idx3-ubyte.gz"
        let compressed = try Data(contentsOf: URL(fileURLWithPath: gzipped))
        try compressed.prefix(compressed.count / 2).write(to: URL(fileURLWithPath: gzipped))
        assertFails(try PrepareJob(options: options(root, output: output)), naming: gzipped, "truncated gzip stream")
        try compressed.write(to: URL(fileURLWithPath: gzipped))

        XCTAssertNoThrow(try PrepareJob(options: options(root, output: output)), "each failure above was the damage")
        try FileManager.default.removeItem(atPath: labels)
        assertFails(try PrepareJob(options: options(root, output: output)), naming: labels, "missing")
    }
}
