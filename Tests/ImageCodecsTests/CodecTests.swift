import Foundation
import ImageCodecs
import TestSupport
import XCTest

final class CodecTests: XCTestCase {
    private func gradient(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8]()
        for y in 0..<height {
            for x in 0..<width {
                pixels += [UInt8(x * 255 / max(width - 1, 1)), UInt8(y * 255 / max(height - 1, 1)), 128]
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    func testPNGWriteThenDecodeIsExact() throws {
        let directory = try TestEnvironment.temporaryDirectory("png")
        defer { try? FileManager.default.removeItem(at: directory) }
        let image = gradient(width: 37, height: 21)
        let path = directory.appendingPathComponent("g.png").path
        try ImageCodecs.writePNG(image, to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(try ImageCodecs.decode(bytes, path: path), image)
    }

    func testJPEGRoundTripIsClose() throws {
        let image = gradient(width: 40, height: 24)
        let bytes = try ImageCodecs.encodeJPEG(image, quality: 95)
        let decoded = try ImageCodecs.decode(bytes, path: "memory.jpg")
        XCTAssertEqual(decoded.width, 40)
        XCTAssertEqual(decoded.height, 24)
        let worst = zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
        XCTAssertLessThan(worst, 24)
    }

    func testCorruptAndTruncatedFilesAreErrorsNotCrashes() throws {
        let bytes = try ImageCodecs.encodeJPEG(gradient(width: 64, height: 64))
        XCTAssertThrowsError(try ImageCodecs.decode(Array(bytes.prefix(40)), path: "cut.JPEG")) {
            XCTAssertTrue("\($0)".hasPrefix("cut.JPEG: jpeg:"), "\($0)")
        }
        var scrambled = bytes
        for i in stride(from: 2, to: 200, by: 3) { scrambled[i] ^= 0x5A }
        XCTAssertThrowsError(try ImageCodecs.decode(scrambled, path: "bad.JPEG"))
        XCTAssertThrowsError(try ImageCodecs.decode(Array("GIF89a".utf8), path: "x.gif")) {
            XCTAssertTrue("\($0)".contains("not a JPEG or PNG"), "\($0)")
        }
        XCTAssertThrowsError(try ImageCodecs.decode([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0], path: "short.png"))
    }
}
