import Foundation
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// Appends events to a new TensorBoard event file, which starts with the file-version record.
///
/// Each `write` is one write(2) of whole records straight to the kernel, with no buffer in the process: a crash
/// of the process loses nothing written, and a reader sees whole batches (as the metrics log, the file is not
/// fsynced: it is a log, not state a resume needs).
package final class EventFileWriter {
    package let path: String
    private let descriptor: Int32

    /// Creates `events.out.tfevents.<seconds>.<host>.<n>` in `directory` (made if missing), `n` the count of event
    /// files already there: TensorBoard reads a directory's files in name order, and the count keeps that the
    /// order they were written in even when two runs start within one second, and never reuses a name.
    package init(directory: String, wallTime: Double = Date().timeIntervalSince1970,
                 host: String = ProcessInfo.processInfo.hostName) throws {
        try Durability.makeDirectories(directory)
        var sequence = EventFileReader.files(in: directory).count
        var created: (path: String, descriptor: Int32)?
        while created == nil {
            let name = "events.out.tfevents.\(Int(wallTime)).\(host).\(sequence)"
            let candidate = (directory as NSString).appendingPathComponent(name)
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
            if fd >= 0 {
                created = (candidate, fd)
            } else if errno == EEXIST {
                sequence += 1
            } else {
                throw EventFileError.io(path: candidate, message: "cannot create the event file: \(IOCause.current)")
            }
        }
        path = created!.path
        descriptor = created!.descriptor
        try write([Event(wallTime: wallTime, step: 0, what: .fileVersion(Event.fileVersion))])
    }

    deinit { close(descriptor) }

    /// Appends `events`, framed, in one system call.
    package func write(_ events: [Event]) throws {
        let bytes = events.flatMap { RecordFraming.frame($0.encoded()) }
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    throw EventFileError.io(path: path, message: "cannot append \(buffer.count) bytes: \(IOCause.current)")
                }
                offset += written
            }
        }
    }
}
