// Field numbers from tensorboard/compat/proto/event.proto and summary.proto. Scalar fields at their default value
// are left out as protobuf's own encoders do; members of a oneof are always written, since their presence is what
// selects the member (a simple_value of 0 must still be there).

extension Event {
    /// The message's bytes.
    package func encoded() -> [UInt8] {
        var writer = ProtobufWriter()
        if wallTime != 0 { writer.double(1, wallTime) }
        if step != 0 { writer.integer(2, step) }
        switch what {
        case .fileVersion(let version): writer.string(3, version)
        case .summary(let values):
            writer.message(5) { summary in
                for value in values { summary.message(1) { value.encode(into: &$0) } }
            }
        case .sessionLog(let status):
            writer.message(7) { log in
                if status != .unspecified { log.integer(1, status.rawValue) }
            }
        case .other: break
        }
        return writer.bytes
    }

    /// Decodes one message; errors name the field.
    package init(decoding bytes: ArraySlice<UInt8>) throws {
        self.init(wallTime: 0, step: 0, what: .other)
        var reader = ProtobufReader(bytes, path: "Event")
        while let (field, payload) = try reader.next() {
            switch field {
            case 1: wallTime = try payload.double("Event.wall_time")
            case 2: step = try payload.integer("Event.step")
            case 3: what = .fileVersion(try payload.string("Event.file_version"))
            case 5: what = .summary(try Self.summary(try payload.bytes("Event.summary")))
            case 7: what = .sessionLog(try Self.sessionLog(try payload.bytes("Event.session_log")))
            case 4, 6, 8, 9: what = .other
            default: break
            }
        }
    }

    private static func summary(_ bytes: ArraySlice<UInt8>) throws -> [SummaryValue] {
        var values: [SummaryValue] = []
        var reader = ProtobufReader(bytes, path: "Event.summary")
        while let (field, payload) = try reader.next() {
            guard field == 1 else { continue }
            let path = "Event.summary.value[\(values.count)]"
            values.append(try SummaryValue(decoding: try payload.bytes(path), path: path))
        }
        return values
    }

    private static func sessionLog(_ bytes: ArraySlice<UInt8>) throws -> SessionStatus {
        var status = SessionStatus.unspecified
        var reader = ProtobufReader(bytes, path: "Event.session_log")
        while let (field, payload) = try reader.next() {
            guard field == 1 else { continue }
            let raw = try payload.integer("Event.session_log.status")
            guard let known = SessionStatus(rawValue: raw) else {
                throw ProtobufError(path: "Event.session_log.status", "unknown status \(raw)")
            }
            status = known
        }
        return status
    }
}

extension SummaryValue {
    fileprivate func encode(into writer: inout ProtobufWriter) {
        writer.string(1, tag)
        switch kind {
        case .scalar(let value): writer.float(2, value)
        case .image(let image):
            writer.message(4) { fields in
                if image.height != 0 { fields.integer(1, Int64(image.height)) }
                if image.width != 0 { fields.integer(2, Int64(image.width)) }
                if image.colorspace != 0 { fields.integer(3, Int64(image.colorspace)) }
                fields.bytes(4, image.encoded)
            }
        case .other: break
        }
    }

    fileprivate init(decoding bytes: ArraySlice<UInt8>, path: String) throws {
        self.init(tag: "", .other)
        var reader = ProtobufReader(bytes, path: path)
        while let (field, payload) = try reader.next() {
            switch field {
            case 1: tag = try payload.string(path + ".tag")
            case 2: kind = .scalar(try payload.float(path + ".simple_value"))
            case 4: kind = .image(try EncodedImage(decoding: try payload.bytes(path + ".image"), path: path + ".image"))
            case 3, 5, 6, 8: kind = .other
            default: break
            }
        }
    }
}

extension EncodedImage {
    fileprivate init(decoding bytes: ArraySlice<UInt8>, path: String) throws {
        self.init(height: 0, width: 0, colorspace: 0, encoded: [])
        var reader = ProtobufReader(bytes, path: path)
        while let (field, payload) = try reader.next() {
            switch field {
            case 1: height = Int32(truncatingIfNeeded: try payload.integer(path + ".height"))
            case 2: width = Int32(truncatingIfNeeded: try payload.integer(path + ".width"))
            case 3: colorspace = Int32(truncatingIfNeeded: try payload.integer(path + ".colorspace"))
            case 4: encoded = Array(try payload.bytes(path + ".encoded_image_string"))
            default: break
            }
        }
    }
}
