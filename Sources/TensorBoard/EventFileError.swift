/// An event file that cannot be read or written; every case names the file and, for a bad record, its byte offset.
package enum EventFileError: Error, CustomStringConvertible, Equatable {
    /// The file ends inside the record at `offset`: what a writer that is still writing, or that crashed
    /// mid-record, leaves.
    case truncated(path: String, offset: Int, needed: Int, left: Int)
    /// A stored masked CRC-32C (of the record's `length` or its `data`) differs from the one computed.
    case checksum(path: String, offset: Int, part: String, stored: UInt32, computed: UInt32)
    /// The record's data is not an Event message; `field` names the message field.
    case undecodable(path: String, offset: Int, field: String, reason: String)
    /// A system call failed.
    case io(path: String, message: String)

    /// True when only the end of the file is missing, which a reader of a file being written must expect.
    package var isTruncation: Bool {
        if case .truncated = self { return true }
        return false
    }

    package var description: String {
        switch self {
        case let .truncated(path, offset, needed, left):
            return "\(path): the record at byte offset \(offset) is cut off (\(needed) bytes needed, \(left) left)"
        case let .checksum(path, offset, part, stored, computed):
            return "\(path): the record at byte offset \(offset) fails its \(part) checksum (masked CRC-32C stored "
                + hex(stored) + ", computed " + hex(computed) + ")"
        case let .undecodable(path, offset, field, reason):
            return "\(path): the record at byte offset \(offset) is not an Event: \(field): \(reason)"
        case let .io(path, message):
            return "\(path): \(message)"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
