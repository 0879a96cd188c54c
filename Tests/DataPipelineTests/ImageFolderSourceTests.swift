import DataPipeline
import Foundation
import ImageCodecs
import TestSupport
import XCTest

final class ImageFolderSourceTests: XCTestCase {
    func testClassFoldersAndNames() throws {
        let root = try SourceTree.make()
        defer { try? FileManager.default.removeItem(at: root) }
        let source = try ImageFolderSource(root: root.path)
        XCTAssertEqual(source.classes.map(\.wnid), ["n001", "n002", "n003"])
        XCTAssertEqual(source.classes[0].name, "first class, one")
        XCTAssertEqual(source.train.count, 12 + 4, "4 per class plus corrupt, CMYK, grey and PNG files in n002")
        XCTAssertEqual(source.train.filter { $0.label == 1 }.count, 8)
        XCTAssertEqual(source.validation.count, 6)
        XCTAssertEqual(source.skipped.map(\.reason), ["not an image"])
        XCTAssertTrue(source.skipped[0].path.hasSuffix("notes.txt"))
    }

    func testFlatValidationWithSolutionCSV() throws {
        let root = try SourceTree.make(flatValidation: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let source = try ImageFolderSource(root: root.path)
        XCTAssertEqual(source.validation.map(\.label), [0, 1, 2])
    }

    func testFlatValidationWithGroundTruthNumbersAndClassOrder() throws {
        let root = try SourceTree.make(flatValidation: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.removeItem(atPath: root.path + "/LOC_val_solution.csv")
        // Integer labels count from 1 in the devkit's class order, which need not be sorted.
        try "3\n1\n2\n".write(toFile: root.path + "/ILSVRC2012_validation_ground_truth.txt", atomically: true, encoding: .utf8)
        try "n003\nn002\nn001\n".write(toFile: root.path + "/order.txt", atomically: true, encoding: .utf8)
        let ordered = try ImageFolderSource(root: root.path, validationClassOrder: root.path + "/order.txt")
        XCTAssertEqual(ordered.validation.map(\.label), [0, 2, 1])
        let sorted = try ImageFolderSource(root: root.path)
        XCTAssertEqual(sorted.validation.map(\.label), [2, 0, 1])
    }

    func testMissingLayoutAndLabelsAreClearErrors() throws {
        let empty = try TestEnvironment.temporaryDirectory("empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try ImageFolderSource(root: empty.path)) { XCTAssertTrue("\($0)".contains("no train/ folder")) }

        let root = try SourceTree.make(flatValidation: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.removeItem(atPath: root.path + "/LOC_val_solution.csv")
        XCTAssertThrowsError(try ImageFolderSource(root: root.path)) { XCTAssertTrue("\($0)".contains("without labels")) }
        try "n001\nbogus\n".write(toFile: root.path + "/gt.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ImageFolderSource(root: root.path, validationLabels: root.path + "/gt.txt")) {
            XCTAssertTrue("\($0)".contains("gt.txt: line 2"), "\($0)")
        }
    }

    func testResizeAntiAliasesAndCrops() {
        // A one-pixel checkerboard shrunk 4x must come out flat grey, not aliased stripes.
        var pixels = [UInt8]()
        for y in 0..<96 { for x in 0..<128 { let v: UInt8 = (x + y) % 2 == 0 ? 255 : 0; pixels += [v, v, v] } }
        let out = resizeAndCenterCrop(RGBImage(width: 128, height: 96, pixels: pixels), to: 24)
        XCTAssertEqual(out.count, 24 * 24 * 3)
        XCTAssertTrue(out.allSatisfy { abs(Int($0) - 128) <= 3 }, "range \(out.min()!)...\(out.max()!)")

        // A left-to-right ramp: the centre crop of the wider image keeps the middle of the ramp.
        var ramp = [UInt8]()
        for _ in 0..<50 { for x in 0..<100 { let v = UInt8(x * 255 / 99); ramp += [v, v, v] } }
        let cropped = resizeAndCenterCrop(RGBImage(width: 100, height: 50, pixels: ramp), to: 16)
        XCTAssertEqual(Int(cropped[(8 * 16 + 0) * 3]), 67, accuracy: 6, "left edge of the crop is a quarter in")
        XCTAssertEqual(Int(cropped[(8 * 16 + 15) * 3]), 188, accuracy: 6, "right edge three quarters in")

        // Upscaling a constant image stays constant.
        let up = resizeAndCenterCrop(SourceTree.solid(10, 20, 30, width: 5, height: 7), to: 16)
        XCTAssertEqual(Array(up[0..<3]), [10, 20, 30])
        XCTAssertEqual(Set(up).sorted(), [10, 20, 30])
    }
}
