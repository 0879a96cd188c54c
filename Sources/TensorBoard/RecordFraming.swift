import Storage

/// TFRecord framing, the container of event files: each record is its length (uint64, little-endian), the masked
/// CRC-32C of those eight bytes, the data, and the masked CRC-32C of the data.
package enum RecordFraming {
    /// Bytes before a record's data (its length and the length's checksum), and around it (the data's checksum too).
    private static let header = 12
    package static let overhead = 16

    /// One record's data, and the byte offset where the record starts (what an error names).
    package struct Record {
        package let offset: Int
        package let data: ArraySlice<UInt8>
    }

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
    package static func records(in bytes: [UInt8], path: String) -> (records: [Record], error: EventFileError?) {
        var records: [Record] = []
        var offset = 0
        while offset < bytes.count {
            let left = bytes.count - offset
            guard left >= header else { return (records, .truncated(path: path, offset: offset, needed: header, left: left)) }
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
            let start = offset + header, end = start + Int(length)
            let storedDataCRC = littleEndian(bytes, at: end, as: UInt32.self)
            let dataCRC = bytes.withUnsafeBytes { maskedCRC(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
            guard storedDataCRC == dataCRC else {
                return (records, .checksum(path: path, offset: offset, part: "data", stored: storedDataCRC, computed: dataCRC))
            }
            records.append(Record(offset: offset, data: bytes[start..<end]))
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
