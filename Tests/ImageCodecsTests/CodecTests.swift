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

    func testGreyscaleAndCMYKJPEGsDecodeToRGB() throws {
        let grey = try ImageCodecs.encodeJPEG(
            pixels: [UInt8](repeating: 200, count: 16 * 8), width: 16, height: 8, components: 1, quality: 100)
        let decodedGrey = try ImageCodecs.decode(grey, path: "grey.jpg")
        XCTAssertEqual(decodedGrey.pixels.count, 16 * 8 * 3)
        XCTAssertTrue(decodedGrey.pixels.allSatisfy { abs(Int($0) - 200) <= 2 }, "grey becomes equal RGB channels")

        // libjpeg marks CMYK with an Adobe marker, so values follow Adobe's inverted convention (0 = full ink),
        // as ImageNet's CMYK files do: C = 0 (full cyan) and M = Y = K = 255 (none) is RGB (0, 255, 255).
        var cmyk = [UInt8]()
        for _ in 0..<(16 * 16) { cmyk += [0, 255, 255, 255] }
        let bytes = try ImageCodecs.encodeJPEG(pixels: cmyk, width: 16, height: 16, components: 4, quality: 100)
        let decoded = try ImageCodecs.decode(bytes, path: "cmyk.jpg")
        XCTAssertEqual(decoded.width, 16)
        let pixel = Array(decoded.pixels[0..<3]).map(Int.init)
        XCTAssertLessThan(abs(pixel[0] - 0) + abs(pixel[1] - 255) + abs(pixel[2] - 255), 12, "\(pixel)")
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
