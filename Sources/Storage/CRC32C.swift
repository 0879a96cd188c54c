/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TensorFlow's record files.
///
/// A byte-wise table in software rather than the SSE4.2 instruction: event files are small, and this runs the same
/// on every CPU.
package struct CRC32C: Sendable {
    package private(set) var value: UInt32 = 0

    package init() {}

    private static let table: [UInt32] = (0..<256).map { byte -> UInt32 in
        var crc = UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = ~value
        Self.table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        value = ~crc
    }

    package mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The checksum of `bytes` in one call.
    package static func of(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.value
    }

    /// The checksum as TFRecord files store it: rotated right by 15 bits and offset by a constant, because a CRC
    /// computed over data that itself holds CRCs is weak.
    package var masked: UInt32 { ((value >> 15) | (value << 17)) &+ 0xA282_EAD8 }
}
