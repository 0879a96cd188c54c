import Storage

/// TFRecord framing, the container of event files: each record is its length (uint64, little-endian), the masked
/// CRC-32C of those eight bytes, the data, and the masked CRC-32C of the data.
package enum RecordFraming {
    /// Bytes around a record's data: length, its checksum, and the data's checksum.
    package static let overhead = 16

    /// `data` framed as one record.
    package static func frame(_ data: [UInt8]) -> [UInt8] {
        var record: [UInt8] = []
        record.reserveCapacity(data.count + overhead)
        withUnsafeBytes(of: UInt64(data.count).littleEndian) { record.append(contentsOf: $0) }
        let lengthCRC = record.withUnsafeBytes { maskedCRC($0) }
        withUnsafeBytes(of: lengthCRC.littleEndian) { record.append(contentsOf: $0) }
        record.append(contentsOf: data)
        withUnsafeBytes(of: data.withUnsafeBytes { maskedCRC($0) }.littleEndian) { record.append(contentsOf: $0) }
        return record
    }

    /// The masked CRC-32C TFRecord files store.
    package static func maskedCRC(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.masked
    }

    /// The records of `bytes` in order, each with the byte offset where it starts. Stops at the first record that
    /// is cut off or fails a checksum and returns what came before it with that error; `path` names the file in
    /// the error.
    package static func records(in bytes: [UInt8], path: String) -> (records: [(offset: Int, data: ArraySlice<UInt8>)], error: EventFileError?) {
        var records: [(offset: Int, data: ArraySlice<UInt8>)] = []
        var offset = 0
        while offset < bytes.count {
            let left = bytes.count - offset
            guard left >= 12 else { return (records, .truncated(path: path, offset: offset, needed: 12, left: left)) }
            let length = littleEndian(bytes, at: offset, as: UInt64.self)
            let storedLengthCRC = littleEndian(bytes, at: offset + 8, as: UInt32.self)
            let lengthCRC = bytes.withUnsafeBytes { maskedCRC(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + 8])) }
            guard storedLengthCRC == lengthCRC else {
                return (records, .checksum(path: path, offset: offset, part: "length", stored: storedLengthCRC, computed: lengthCRC))
            }
            guard left >= overhead, length <= UInt64(left - overhead) else {
                let needed = length > UInt64(Int.max - overhead) ? Int.max : overhead + Int(length)
                return (records, .truncated(path: path, offset: offset, needed: needed, left: left))
            }
            let start = offset + 12, end = start + Int(length)
            let storedDataCRC = littleEndian(bytes, at: end, as: UInt32.self)
            let dataCRC = bytes.withUnsafeBytes { maskedCRC(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
            guard storedDataCRC == dataCRC else {
                return (records, .checksum(path: path, offset: offset, part: "data", stored: storedDataCRC, computed: dataCRC))
            }
            records.append((offset, bytes[start..<end]))
            offset = end + 4
        }
        return (records, nil)
    }

    private static func littleEndian<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as _: T.Type) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(bytes[offset + i]) << (8 * i) }
        return value
    }
}
