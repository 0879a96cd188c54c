import Foundation
import Storage
import TestSupport
import XCTest

final class StorageTests: XCTestCase {
    func testCRC32MatchesTheStandardCheckValue() {
        var crc = CRC32()
        crc.update(Array("123456789".utf8))
        XCTAssertEqual(crc.hex, "cbf43926", "the CRC-32 check value of the ISO-HDLC definition")
    }

    func testFileChecksumEqualsStreamedChecksum() throws {
        let directory = try TestEnvironment.temporaryDirectory("crc")
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes = (0..<(9 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let path = directory.appendingPathComponent("blob").path
        try Durability.writeAtomically(Data(bytes), to: path)
        var crc = CRC32()
        crc.update(bytes)
        XCTAssertEqual(try CRC32.file(path), crc.value)
        XCTAssertThrowsError(try CRC32.file(path + ".missing")) { XCTAssertTrue("\($0)".contains("blob.missing")) }
    }

    func testAtomicWriteReplacesAndLeavesNoTemporaryFile() throws {
        let directory = try TestEnvironment.temporaryDirectory("atomic")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("manifest.json").path
        try Durability.writeAtomically(Data("old".utf8), to: path)
        try Durability.writeAtomically(Data("new".utf8), to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "new")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["manifest.json"])
    }
}
