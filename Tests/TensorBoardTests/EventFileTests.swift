import Foundation
import Storage
import TensorBoard
import TestSupport
import XCTest

/// Our writer read back by our reader, record by record: the framing, the checksums, the messages.
final class EventFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("tensorboard") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A 3 x 2 RGB PNG's first 33 bytes (signature and IHDR); the reader keeps the bytes as they are.
    private let png: [UInt8] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 3, 0, 0, 0, 2,
        8, 2, 0, 0, 0, 0x12, 0x34, 0x56, 0x78,
    ]

    private var sample: [Event] {
        get throws {
            [
                Event(wallTime: 1_700_000_000.5, step: 1, what: .summary([
                    SummaryValue(tag: "train/mse", .scalar(0.25)), SummaryValue(tag: "train/zero", .scalar(0)),
                ])),
                Event(wallTime: 1_700_000_001.25, step: 2, what: .sessionLog(.start)),
                Event(wallTime: 1_700_000_002, step: 300_000, what: .summary([
                    SummaryValue(tag: "eval/psnr", .scalar(Float(31.4159))),
                    SummaryValue(tag: "pictures/samples", .image(try EncodedImage(png: png, path: "memory"))),
                ])),
            ]
        }
    }

    func testOurEventsReadBackWithTheFileVersionFirst() throws {
        let writer = try EventFileWriter(directory: directory.path, wallTime: 1_700_000_000, host: "node7")
        try writer.write(try sample)
        let events = try EventFileReader.read(writer.path)
        XCTAssertEqual(events.first, Event(wallTime: 1_700_000_000, step: 0, what: .fileVersion("brain.Event:2")))
        XCTAssertEqual(Array(events.dropFirst()), try sample)
        XCTAssertEqual(
            (writer.path as NSString).lastPathComponent, "events.out.tfevents.1700000000.node7.0")
    }

    func testTheImageSizeAndColourSpaceComeFromThePNGHeader() throws {
        let image = try EncodedImage(png: png, path: "grid.png")
        XCTAssertEqual([image.width, image.height, image.colorspace], [3, 2, 3])
        XCTAssertEqual(image.encoded, png)
        XCTAssertThrowsError(try EncodedImage(png: Array(png.prefix(20)), path: "grid.png")) {
            XCTAssertTrue("\($0)".contains("grid.png"), "\($0)")
        }
    }

    /// The framing byte by byte: length, its masked CRC-32C, the data, the data's masked CRC-32C.
    func testEveryRecordIsFramedWithMaskedCastagnoliChecksums() throws {
        let writer = try EventFileWriter(directory: directory.path, wallTime: 1_700_000_000, host: "h")
        try writer.write(try sample)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        var offset = 0, records = 0
        func word<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            (0..<MemoryLayout<T>.size).reduce(T(0)) { $0 | T(bytes[at + $1]) << (8 * $1) }
        }
        func masked(_ slice: ArraySlice<UInt8>) -> UInt32 {
            let crc = CRC32C.of(Array(slice))
            return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
        }
        while offset < bytes.count {
            let length = Int(word(offset, UInt64.self))
            XCTAssertEqual(word(offset + 8, UInt32.self), masked(bytes[offset..<offset + 8]), "length CRC at \(offset)")
            let data = bytes[offset + 12..<offset + 12 + length]
            XCTAssertEqual(word(offset + 12 + length, UInt32.self), masked(data), "data CRC at \(offset)")
            offset += 16 + length
            records += 1
        }
        XCTAssertEqual(offset, bytes.count)
        XCTAssertEqual(records, 4)
    }

    func testADamagedRecordIsNamedByFileAndByteOffset() throws {
        let writer = try EventFileWriter(directory: directory.path, wallTime: 1_700_000_000, host: "h")
        try writer.write(try sample)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        let first = 16 + Int(bytes[0]), second = first + 16 + Int(bytes[first])
        bytes[second + 12 + 3] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: writer.path))
        XCTAssertThrowsError(try EventFileReader.read(writer.path)) { error in
            guard case .checksum(let path, let offset, let part, _, _) = error as? EventFileError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual([path, part], [writer.path, "data"])
            XCTAssertEqual(offset, second)
            XCTAssertTrue("\(error)".contains("\(writer.path): the record at byte offset \(second)"), "\(error)")
        }
        let scan = try EventFileReader.scan(writer.path)
        XCTAssertEqual(scan.events.count, 2, "the records before the damaged one still read")
    }

    /// A length that went wrong would otherwise send the reader into the data: its own checksum stops it first.
    func testADamagedLengthIsCaughtByItsOwnChecksum() throws {
        let writer = try EventFileWriter(directory: directory.path, wallTime: 1_700_000_000, host: "h")
        try writer.write(try sample)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        let first = 16 + Int(bytes[0])
        bytes[first + 6] = 0x7F
        try Data(bytes).write(to: URL(fileURLWithPath: writer.path))
        let scan = try EventFileReader.scan(writer.path)
        XCTAssertEqual(scan.events.count, 1)
        guard case .checksum(_, let offset, "length", _, _)? = scan.error else { return XCTFail("\(String(describing: scan.error))") }
        XCTAssertEqual(offset, first)
    }

    func testAFileCutInsideARecordHeaderIsATruncation() throws {
        let writer = try EventFileWriter(directory: directory.path, wallTime: 1_700_000_000, host: "h")
        try writer.write(try sample)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: writer.path))
        let first = 16 + Int(bytes[0])
        try bytes.prefix(first + 5).write(to: URL(fileURLWithPath: writer.path))
        let scan = try EventFileReader.scan(writer.path)
        XCTAssertEqual(scan.events.count, 1)
        XCTAssertEqual(scan.error, .truncated(path: writer.path, offset: first, needed: 12, left: 5))
    }

    func testACutOffLastRecordIsATruncationAndTheRecordsBeforeItRead() throws {
        let writer = try EventFileWriter(directory: directory.path, wallTime: 1_700_000_000, host: "h")
        try writer.write(try sample)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: writer.path))
        try bytes.dropLast(5).write(to: URL(fileURLWithPath: writer.path))
        let scan = try EventFileReader.scan(writer.path)
        XCTAssertEqual(scan.events.count, 3)
        XCTAssertEqual(scan.error?.isTruncation, true, "\(String(describing: scan.error))")
    }

    func testARecordThatIsNotAnEventNamesTheField() throws {
        let path = directory.appendingPathComponent("events.out.tfevents.bad").path
        // Event.summary (field 5) holding a Summary.Value whose tag (field 1) claims 9 bytes of 2.
        let data: [UInt8] = [0x2A, 6, 0x0A, 4, 0x0A, 9, 0x61, 0x62]
        try Data(RecordFraming.frame(data)).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try EventFileReader.read(path)) { error in
            XCTAssertTrue("\(error)".contains("\(path): the record at byte offset 0 is not an Event: Event.summary.value[0]"), "\(error)")
        }
    }

    /// Two writers in one second, as a resume right after a crash: new names, in the order TensorBoard reads.
    func testANewFileInTheSameSecondNeverReusesANameAndSortsAfter() throws {
        let first = try EventFileWriter(directory: directory.path, wallTime: 1_700_000_000, host: "h")
        let second = try EventFileWriter(directory: directory.path, wallTime: 1_700_000_000, host: "h")
        XCTAssertNotEqual(first.path, second.path)
        XCTAssertEqual(EventFileReader.files(in: directory.path), [first.path, second.path])
    }
}
