import CZlib
import Foundation

/// An array of unsigned bytes in the IDX format of the MNIST family, read whole, from a plain or gzip file.
///
/// The format: two zero bytes, a type byte (0x08 for unsigned bytes, the only type these data sets use), the
/// number of dimensions, each dimension as a big-endian 32-bit integer, then the elements in row-major order.
package struct IDXFile: Sendable {
    package let path: String
    package let dimensions: [Int]
    /// The elements, row-major.
    package let elements: [UInt8]

    /// Reads `path` (gzip-compressed or not: zlib reads both) and checks that it holds a `rank`-dimensional array
    /// of unsigned bytes, complete and with nothing after it.
    package init(path: String, rank: Int) throws {
        self.path = path
        let bytes = try Self.readAll(path)
        let what = rank == 1 ? "an IDX label file" : "an IDX image file"
        let expected = String(format: "0x%08X", 0x0800 | rank)
        guard bytes.count >= 4 else {
            throw SourceError(path: path, "truncated: \(bytes.count) byte(s), shorter than the 4-byte magic number")
        }
        let magic = bytes[0..<4].reduce(0) { $0 << 8 | Int($1) }
        guard bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08, Int(bytes[3]) == rank else {
            throw SourceError(
                path: path,
                String(format: "wrong magic number 0x%08X: %@ starts with %@ (unsigned bytes, %d dimension(s))",
                    magic, what, expected, rank))
        }
        let header = 4 + 4 * rank
        guard bytes.count >= header else {
            throw SourceError(path: path, "truncated: \(bytes.count) bytes, shorter than the \(header)-byte header")
        }
        dimensions = (0..<rank).map { d in bytes[(4 + 4 * d)..<(8 + 4 * d)].reduce(0) { $0 << 8 | Int($1) } }
        let count = dimensions.reduce(1, *)
        let shape = dimensions.map(String.init).joined(separator: "x")
        guard bytes.count - header == count else {
            let problem = bytes.count - header < count ? "truncated" : "trailing bytes"
            throw SourceError(
                path: path,
                "\(problem): the header promises \(shape) = \(count) bytes of data, the file holds \(bytes.count - header)")
        }
        elements = Array(bytes[header...])
    }

    /// The file's bytes, decompressed when it is gzip; a damaged or cut gzip stream is an error, not a short read.
    static func readAll(_ path: String) throws -> [UInt8] {
        guard FileManager.default.isReadableFile(atPath: path), let file = gzopen(path, "rb") else {
            throw SourceError(path: path, "cannot be opened for reading")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let read = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if read > 0 { bytes.append(contentsOf: chunk[0..<Int(read)]) }
            if read <= 0 { break }
        }
        var code: Int32 = Z_OK
        let message = String(cString: gzerror(file, &code))
        gzclose_r(file)
        guard code == Z_OK else {
            let reason = code == Z_BUF_ERROR ? "truncated gzip stream (\(message))" : "damaged gzip stream (\(message))"
            throw SourceError(path: path, reason)
        }
        return bytes
    }
}
