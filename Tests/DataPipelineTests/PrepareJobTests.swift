@testable import DataPipeline
import Foundation
import HDF5
import TestSupport
import XCTest

final class PrepareJobTests: XCTestCase {
    private func convertAll(_ job: PrepareJob) throws -> [ShardOutcome] { try job.shards.map { try job.convert($0) } }

    func testConversionSkipsBadFilesAndDecodesEveryColourSpace() throws {
        let root = try SourceTree.make()
        let output = try TestEnvironment.temporaryDirectory("prepared")
        defer {
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: output)
        }
        let job = try PrepareJob(options: PrepareOptions(source: root.path, output: output.path, imageSize: 16, trainShards: 2))
        let outcomes = try convertAll(job)
        let manifest = job.manifest(outcomes: outcomes)
        try manifest.save(output.path + "/manifest.json")

        XCTAssertEqual(manifest.splits["train"]?.count, 15, "16 candidates, one corrupt")
        XCTAssertEqual(manifest.splits["heldout"]?.count, 6)
        let skipped = manifest.skipped ?? []
        XCTAssertEqual(skipped.count, 2)
        XCTAssertTrue(skipped.contains { $0.path.hasSuffix("notes.txt") && $0.reason == "not an image" })
        XCTAssertTrue(skipped.contains { $0.path.hasSuffix("corrupt.JPEG") && $0.reason.hasPrefix("jpeg:") }, "\(skipped)")

        let (_, set) = try ShardSet.open(manifest: output.path + "/manifest.json", split: "train", verify: true)
        XCTAssertEqual(set.count, 15)
        XCTAssertEqual(set.rowShapes, [[16, 16, 3]])
        // Find the CMYK (cyan) and grey images among the shards by their colours.
        var colours: [[UInt8]] = []
        var row = [UInt8](repeating: 0, count: 16 * 16 * 3)
        for i in 0..<set.count {
            try row.withUnsafeMutableBufferPointer { try set.read(field: 0, index: i, into: $0) }
            colours.append(Array(row[0..<3]))
        }
        XCTAssertTrue(colours.contains { $0[0] < 12 && $0[1] > 243 && $0[2] > 243 }, "CMYK cyan decoded: \(colours)")
        XCTAssertTrue(colours.contains { abs(Int($0[0]) - 90) <= 2 && $0[0] == $0[1] && $0[1] == $0[2] }, "greyscale")
        XCTAssertTrue(colours.contains { $0 == [9, 9, 9] }, "the PNG")
    }

    func testShardsAreClassBalancedAndDeterministicForASeed() throws {
        let files = (0..<3).flatMap { c in (0..<10).map { SourceImage(path: "/x/\(c)/\($0).JPEG", label: c) } }
        let a = PrepareJob.deal(files, into: 4, split: "train", seed: 5)
        let b = PrepareJob.deal(files, into: 4, split: "train", seed: 5)
        let c = PrepareJob.deal(files, into: 4, split: "train", seed: 6)
        XCTAssertEqual(a.map { $0.images }, b.map { $0.images })
        XCTAssertNotEqual(a.map { $0.images }, c.map { $0.images })
        XCTAssertEqual(Set(a.flatMap { $0.images.map(\.name) }).count, 30, "every file exactly once")
        for shard in a {
            XCTAssertTrue([7, 8].contains(shard.images.count))
            for label in 0..<3 {
                XCTAssertTrue([2, 3].contains(shard.images.filter { $0.label == label }.count), "class \(label) unbalanced")
            }
        }
    }

    func testRerunKeepsFinishedShardsAndForceRedoesThem() throws {
        let root = try SourceTree.make()
        let output = try TestEnvironment.temporaryDirectory("rerun")
        defer {
            try? FileManager.default.removeItem(at: root)
            try? FileManager.default.removeItem(at: output)
        }
        let options = PrepareOptions(source: root.path, output: output.path, imageSize: 16, trainShards: 2)
        let first = try convertAll(try PrepareJob(options: options))
        XCTAssertTrue(first.allSatisfy { !$0.reused })
        // An interrupted run leaves a partial file behind; it never counts as a shard.
        try Data("partial".utf8).write(to: output.appendingPathComponent("train-00001-of-00002.h5.partial"))
        let again = try convertAll(try PrepareJob(options: options))
        XCTAssertTrue(again.allSatisfy(\.reused))
        XCTAssertEqual(again.map(\.shard), first.map(\.shard))
        XCTAssertEqual(again.flatMap(\.skipped), first.flatMap(\.skipped), "the skipped list survives in the shard")
        let forced = try convertAll(try PrepareJob(options: options, reuseFinishedShards: false))
        XCTAssertTrue(forced.allSatisfy { !$0.reused })
        XCTAssertEqual(forced.map(\.shard), first.map(\.shard), "same inputs, same bytes")
        var other = options
        other.imageSize = 24
        XCTAssertTrue(try convertAll(try PrepareJob(options: other)).allSatisfy { !$0.reused }, "a different plan is redone")
    }

    func testDemoSourceConvertsLikeAnyOther() throws {
        let root = try TestEnvironment.temporaryDirectory("demo")
        defer { try? FileManager.default.removeItem(at: root) }
        XCTAssertEqual(try DemoImages.write(to: root.path + "/src", classes: 3, trainPerClass: 4, validationPerClass: 2, size: 16), 18)
        let job = try PrepareJob(
            options: PrepareOptions(source: root.path + "/src", output: root.path + "/out", imageSize: 16, trainShards: 2))
        let manifest = job.manifest(outcomes: try convertAll(job))
        XCTAssertEqual(manifest.classes.map(\.name), ["disc", "square", "horizontal stripes"])
        XCTAssertEqual(manifest.splits["train"]?.count, 12)
        XCTAssertEqual(manifest.skipped, [])
        // The drawing is a function of (seed, class, index): the same everywhere.
        XCTAssertEqual(DemoImages.draw(classIndex: 4, index: 3, size: 16, seed: 1), DemoImages.draw(classIndex: 4, index: 3, size: 16, seed: 1))
        XCTAssertNotEqual(DemoImages.draw(classIndex: 4, index: 3, size: 16, seed: 1), DemoImages.draw(classIndex: 4, index: 4, size: 16, seed: 1))
    }
}
