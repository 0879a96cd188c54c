/// Protocol-buffer wire decoding: the fields of one message in order, each with its number and payload.
///
/// Errors name the message field (`path`, such as "Event.summary.value[2].image"), so a reader can report the file,
/// the record's offset and the field.
struct ProtobufReader {
    private let bytes: ArraySlice<UInt8>
    private var offset: Int
    let path: String

    init(_ bytes: ArraySlice<UInt8>, path: String) {
        self.bytes = bytes
        offset = bytes.startIndex
        self.path = path
    }

    /// One field's payload, by wire type.
    enum Payload {
        case varint(UInt64)
        case fixed64(UInt64)
        case lengthDelimited(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws -> (field: Int, payload: Payload)? {
        guard offset < bytes.endIndex else { return nil }
        let key = try varint(what: "a field key")
        let field = Int(key >> 3)
        guard field > 0 else { throw ProtobufError(path: path, "field number 0") }
        switch key & 7 {
        case 0: return (field, .varint(try varint(what: "field \(field)")))
        case 1: return (field, .fixed64(try fixed(field, UInt64.self)))
        case 2:
            let length = try varint(what: "the length of field \(field)")
            guard length <= UInt64(bytes.endIndex - offset) else {
                throw ProtobufError(path: path, "field \(field) claims \(length) bytes, \(bytes.endIndex - offset) are left")
            }
            let payload = bytes[offset..<offset + Int(length)]
            offset += Int(length)
            return (field, .lengthDelimited(payload))
        case 5: return (field, .fixed32(try fixed(field, UInt32.self)))
        case let wire: throw ProtobufError(path: path, "field \(field) has wire type \(wire), which event files do not use")
        }
    }

    private mutating func varint(what: String) throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            guard offset < bytes.endIndex else { throw ProtobufError(path: path, "\(what) runs past the end") }
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte < 0x80 { return value }
        }
        throw ProtobufError(path: path, "\(what) is a varint longer than ten bytes")
    }

    private mutating func fixed<T: FixedWidthInteger>(_ field: Int, _: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard bytes.endIndex - offset >= size else {
            throw ProtobufError(path: path, "field \(field) needs \(size) bytes, \(bytes.endIndex - offset) are left")
        }
        var value: T = 0
        for i in 0..<size { value |= T(bytes[offset + i]) << (8 * i) }
        offset += size
        return value
    }
}

extension ProtobufReader.Payload {
    func integer(_ path: String) throws -> Int64 {
        guard case .varint(let value) = self else { throw ProtobufError(path: path, "is not a varint") }
        return Int64(bitPattern: value)
    }

    func double(_ path: String) throws -> Double {
        guard case .fixed64(let value) = self else { throw ProtobufError(path: path, "is not a 64-bit double") }
        return Double(bitPattern: value)
    }

    func float(_ path: String) throws -> Float {
        guard case .fixed32(let value) = self else { throw ProtobufError(path: path, "is not a 32-bit float") }
        return Float(bitPattern: value)
    }

    func bytes(_ path: String) throws -> ArraySlice<UInt8> {
        guard case .lengthDelimited(let value) = self else { throw ProtobufError(path: path, "is not length-delimited") }
        return value
    }

    func string(_ path: String) throws -> String {
        guard let text = String(validating: try bytes(path), as: UTF8.self) else {
            throw ProtobufError(path: path, "is not UTF-8")
        }
        return text
    }
}

/// A message that does not decode, naming the field.
struct ProtobufError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    init(path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }
    var description: String { "\(path): \(reason)" }
}
