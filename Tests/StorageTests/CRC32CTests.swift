import Storage
import XCTest

final class CRC32CTests: XCTestCase {
    func testTheCheckValueOfTheCastagnoliDefinition() {
        var crc = CRC32C()
        crc.update(Array("123456789".utf8))
        XCTAssertEqual(crc.value, 0xE306_9283)
    }

    /// The iSCSI test vectors of RFC 3720 (appendix B.4).
    func testTheVectorsOfRFC3720() {
        XCTAssertEqual(CRC32C.of([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.of([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.of((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.of((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C)
    }

    func testUpdatingInPiecesEqualsOneUpdate() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37 >> 2) }
        var pieces = CRC32C()
        pieces.update(Array(bytes[..<1]))
        pieces.update(Array(bytes[1..<517]))
        pieces.update(Array(bytes[517...]))
        XCTAssertEqual(pieces.value, CRC32C.of(bytes))
    }

    /// TFRecord's mask, rotate right by 15 bits and add 0xa282ead8, of the check value.
    func testTheMaskOfTheCheckValue() {
        var crc = CRC32C()
        crc.update(Array("123456789".utf8))
        XCTAssertEqual(crc.masked, 0xC78A_B0E5)
    }
}
