import Foundation
import HDF5
import TestSupport
import XCTest

final class HDF5RoundTripTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("hdf5") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes a small image shard in the common layout: images uint8 [N, S, S, 3], one image per chunk.
    private func writeShard(_ path: String, images: Int = 4, side: Int = 6) throws -> [UInt8] {
        let file = try File(path: path, mode: .create)
        let dataset = try file.root.createDataset(
            "images", type: .uint8, shape: [images, side, side, 3], chunk: [1, side, side, 3])
        let pixels = (0..<images * side * side * 3).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try pixels.withUnsafeBufferPointer { try dataset.writeRows(0, count: images, from: $0) }
        try file.root.writeDataset("labels", [Int64](repeating: 0, count: images).enumerated().map { Int64($0.offset * 3) })
        try file.root.setAttribute("image_size", Int32(side))
        try file.root.setAttribute("class_names", "tench,goldfish")
        try dataset.setAttribute("mean", [Float(0.25), 0.5, 0.75])
        try file.flush()
        return pixels
    }

    func testChunkedUInt8DatasetWithAttributesRoundTrips() throws {
        let pixels = try writeShard(path("shard.h5"))
        let file = try File(path: path("shard.h5"), mode: .readOnly)
        let images = try file.root.openDataset("images")
        XCTAssertEqual(images.shape, [4, 6, 6, 3])
        XCTAssertEqual(images.storedType, .uint8)
        XCTAssertEqual(images.chunkShape, [1, 6, 6, 3])
        XCTAssertEqual(try images.read(as: UInt8.self), pixels)
        var two = [UInt8](repeating: 0, count: 2 * 108)
        try two.withUnsafeMutableBufferPointer { try images.readRows(1, count: 2, into: $0) }
        XCTAssertEqual(two, Array(pixels[108..<324]))
        XCTAssertEqual(try file.root.openDataset("labels").read(as: Int64.self), [0, 3, 6, 9])
        XCTAssertEqual(try file.root.openDataset("labels").read(as: Int32.self), [0, 3, 6, 9], "converted on read")
        XCTAssertEqual(try file.root.attribute("image_size", as: Int32.self), [6])
        XCTAssertEqual(try file.root.stringAttribute("class_names"), "tench,goldfish")
        XCTAssertEqual(try images.attribute("mean", as: Float.self), [0.25, 0.5, 0.75])
        XCTAssertEqual(try file.root.childNames(), ["images", "labels"])
    }

    func testH5DumpReadsWhatWeWrote() throws {
        _ = try writeShard(path("dump.h5"))
        let result = try TestEnvironment.run(["h5dump", "-p", "-H", path("dump.h5")], timeout: 60)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("DATASET \"images\""), result.output)
        XCTAssertTrue(result.output.contains("H5T_STD_U8LE"), result.output)
        XCTAssertTrue(result.output.contains("DATASPACE  SIMPLE { ( 4, 6, 6, 3 ) / ( 4, 6, 6, 3 ) }"), result.output)
        XCTAssertTrue(result.output.contains("CHUNKED ( 1, 6, 6, 3 )"), result.output)
        XCTAssertTrue(result.output.contains("ATTRIBUTE \"class_names\""), result.output)
        let values = try TestEnvironment.run(["h5dump", "-d", "/labels", path("dump.h5")], timeout: 60)
        XCTAssertTrue(values.output.contains("0, 3, 6, 9"), values.output)
    }

    func testErrorsNameTheFileAndTheObject() throws {
        _ = try writeShard(path("named.h5"))
        let file = try File(path: path("named.h5"), mode: .readOnly)
        XCTAssertThrowsError(try file.root.openDataset("pixels")) { error in
            XCTAssertTrue("\(error)".contains("named.h5"), "\(error)")
            XCTAssertTrue("\(error)".contains("/pixels"), "\(error)")
        }
        XCTAssertThrowsError(try file.root.stringAttribute("absent")) { error in
            XCTAssertTrue("\(error)".contains("attribute 'absent'"), "\(error)")
        }
        let images = try file.root.openDataset("images")
        var buffer = [UInt8](repeating: 0, count: 10 * 108)
        XCTAssertThrowsError(try buffer.withUnsafeMutableBufferPointer { try images.readRows(3, count: 2, into: $0) }) {
            XCTAssertTrue("\($0)".contains("/images"), "\($0)")
        }
    }

    func testCorruptAndForeignFilesAreClearErrors() throws {
        let garbage = path("garbage.h5")
        try Data("this is not an HDF5 file".utf8).write(to: URL(fileURLWithPath: garbage))
        XCTAssertThrowsError(try File(path: garbage, mode: .readOnly)) { XCTAssertTrue("\($0)".contains("garbage.h5")) }
        XCTAssertThrowsError(try File(path: path("missing.h5"), mode: .readOnly))

        // A shard cut short: the header survives, the data does not.
        _ = try writeShard(path("whole.h5"), images: 64, side: 16)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path("whole.h5")))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path("truncated.h5")))
        do {
            let file = try File(path: path("truncated.h5"), mode: .readOnly)
            let images = try file.root.openDataset("images")
            XCTAssertThrowsError(try images.read(as: UInt8.self)) { XCTAssertTrue("\($0)".contains("truncated.h5")) }
        } catch {
            XCTAssertTrue("\(error)".contains("truncated.h5"), "\(error)")
        }
    }

    func testSameContentsGiveTheSameBytes() throws {
        _ = try writeShard(path("a.h5"))
        Thread.sleep(forTimeInterval: 1.1)
        _ = try writeShard(path("b.h5"))
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: path("a.h5"))), try Data(contentsOf: URL(fileURLWithPath: path("b.h5"))))
    }

    func testGrowableDatasetExtendsAndShrinks() throws {
        let file = try File(path: path("grow.h5"), mode: .create)
        let dataset = try file.root.createDataset("images", type: .uint8, shape: [0, 2, 2, 3], chunk: [1, 2, 2, 3], growable: true)
        try dataset.resizeRows(5)
        let rows = (0..<5 * 12).map { UInt8($0) }
        try rows.withUnsafeBufferPointer { try dataset.writeRows(0, count: 5, from: $0) }
        try dataset.resizeRows(3)
        XCTAssertEqual(dataset.shape, [3, 2, 2, 3])
        XCTAssertEqual(try file.root.openDataset("images").read(as: UInt8.self), Array(rows.prefix(36)))
    }

    func testCreateRefusesToOverwriteButTruncateReplaces() throws {
        _ = try writeShard(path("keep.h5"))
        XCTAssertThrowsError(try File(path: path("keep.h5"), mode: .create))
        XCTAssertEqual(try File(path: path("keep.h5"), mode: .readOnly).root.openDataset("images").shape[0], 4)
        let replaced = try File(path: path("keep.h5"), mode: .truncate)
        XCTAssertEqual(try replaced.root.childNames(), [])
    }
}
