import CZlib
import Foundation

/// CRC-32 (zlib's, the same as Python's zlib.crc32), the checksum manifests record for shards and checkpoints.
package struct CRC32: Sendable {
    package private(set) var value: UInt32 = 0

    package init() {}

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        value = UInt32(crc32_z(UInt(value), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    package mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The checksum of a whole file, read in 4 MiB blocks.
    package static func file(_ path: String) throws -> UInt32 {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StorageError(path: path, "cannot open for reading")
        }
        defer { try? handle.close() }
        var crc = CRC32()
        while true {
            let block = try handle.read(upToCount: 4 << 20) ?? Data()
            if block.isEmpty { break }
            block.withUnsafeBytes { crc.update($0) }
        }
        return crc.value
    }

    /// The checksum as eight hex digits, the form manifests store.
    package var hex: String { String(format: "%08x", value) }
}
