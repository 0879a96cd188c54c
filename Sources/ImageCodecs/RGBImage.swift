import CImageCodecs

#if canImport(Glibc)
import Glibc
#endif

/// An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC).
package struct RGBImage: Sendable, Equatable {
    package let width: Int
    package let height: Int
    package var pixels: [UInt8]

    package init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage needs width * height * 3 bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// A file that could not be decoded or written, with the codec's reason.
package struct ImageCodecError: Error, CustomStringConvertible {
    package let path: String
    package let reason: String
    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    package var description: String { "\(path): \(reason)" }
}

/// JPEG and PNG decoding and PNG writing through libjpeg-turbo and libpng.
package enum ImageCodecs {
    package static var libpngVersion: String { String(cString: cic_libpng_version()) }
    package static var libjpegVersion: Int { Int(cic_libjpeg_version()) }

    /// Decodes JPEG or PNG bytes (chosen by signature) to RGB; `path` only names the source in errors.
    package static func decode(_ bytes: [UInt8], path: String) throws -> RGBImage {
        var error = [CChar](repeating: 0, count: 256)
        var width: Int32 = 0
        var height: Int32 = 0
        let isPNG = bytes.starts(with: [0x89, 0x50, 0x4E, 0x47])
        let isJPEG = bytes.starts(with: [0xFF, 0xD8])
        guard isPNG || isJPEG else { throw ImageCodecError(path: path, reason: "not a JPEG or PNG file") }
        let decoded = bytes.withUnsafeBufferPointer { buffer in
            isPNG
                ? cic_png_decode_rgb(buffer.baseAddress, buffer.count, &width, &height, &error)
                : cic_jpeg_decode_rgb(buffer.baseAddress, buffer.count, &width, &height, &error)
        }
        guard let decoded else { throw ImageCodecError(path: path, reason: String(nulTerminated: error)) }
        defer { free(decoded) }
        let count = Int(width) * Int(height) * 3
        return RGBImage(
            width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: decoded, count: count)))
    }

    /// Encodes `image` as JPEG bytes of `quality` (1-100); `path` only names the destination in errors.
    package static func encodeJPEG(_ image: RGBImage, quality: Int = 90, path: String = "<memory>") throws -> [UInt8] {
        try encodeJPEG(pixels: image.pixels, width: image.width, height: image.height, components: 3, quality: quality,
                       path: path)
    }

    /// Encodes interleaved pixels of 1 (grey), 3 (RGB) or 4 (CMYK, as Adobe writes it) components as JPEG bytes.
    package static func encodeJPEG(
        pixels: [UInt8], width: Int, height: Int, components: Int, quality: Int = 90, path: String = "<memory>"
    ) throws -> [UInt8] {
        precondition(pixels.count == width * height * components, "pixel count does not match the size")
        var error = [CChar](repeating: 0, count: 256)
        var length = 0
        let encoded = pixels.withUnsafeBufferPointer {
            cic_jpeg_encode($0.baseAddress, Int32(width), Int32(height), Int32(components), Int32(quality), &length, &error)
        }
        guard let encoded else { throw ImageCodecError(path: path, reason: String(nulTerminated: error)) }
        defer { free(encoded) }
        return Array(UnsafeBufferPointer(start: encoded, count: length))
    }

    /// Writes `image` as a PNG file at `path`.
    package static func writePNG(_ image: RGBImage, to path: String) throws {
        var error = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer {
            cic_png_write_rgb(path, $0.baseAddress, Int32(image.width), Int32(image.height), &error)
        }
        guard status == 0 else { throw ImageCodecError(path: path, reason: String(nulTerminated: error)) }
    }
}

extension String {
    /// Decodes a C character buffer up to its first NUL.
    init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
