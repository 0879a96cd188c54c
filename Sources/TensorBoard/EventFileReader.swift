import Foundation

/// Reads the events of one event file, checking every record's framing and checksums.
package enum EventFileReader {
    /// Every event of `path`; throws at the first record that is cut off, fails a checksum or does not decode.
    package static func read(_ path: String) throws -> [Event] {
        let scan = try scan(path)
        if let error = scan.error { throw error }
        return scan.events
    }

    /// The events before the first record that cannot be read, and that record's error (nil when every record
    /// reads). Throws only when the file itself cannot be read.
    package static func scan(_ path: String) throws -> (events: [Event], error: EventFileError?) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EventFileError.io(path: path, message: "cannot read the event file")
        }
        let (records, framingError) = RecordFraming.records(in: [UInt8](data), path: path)
        var events: [Event] = []
        for record in records {
            do {
                events.append(try Event(decoding: record.data))
            } catch let error as ProtobufError {
                return (events, .undecodable(path: path, offset: record.offset, field: error.path, reason: error.reason))
            }
        }
        return (events, framingError)
    }

    /// The event files TensorBoard would read in `directory`, in the order it reads them (by name).
    package static func files(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.contains("tfevents") }.sorted().map { (directory as NSString).appendingPathComponent($0) }
    }
}
