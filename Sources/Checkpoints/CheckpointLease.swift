import Coordination
import Foundation

/// A job's claim on its checkpoint directory, so that two jobs never write one directory at once.
///
/// Rank 0 holds a POSIX advisory lock (fcntl F_SETLK) on `<root>/lease` for the life of the job, and the file records
/// the holder (host, process, start time) and a generation number that each new holder raises by one. The kernel
/// drops the lock when the holder's process ends, however it ends, so a lock that cannot be taken means a live
/// holder: the second job refuses and names it. A lease whose holder ended without releasing it (a crash, a kill)
/// is stale and taken over with a message. Every manifest records the generation it was written under; a holder
/// that lost its lease (its mpirun killed while a rank went on, a host cut off) may still commit, and resume ranks
/// checkpoints by generation first, so such late commits are fenced off (`CheckpointCatalog.resumeChoice`).
///
/// fcntl locks work on local filesystems and on NFS (NFSv4, or NFSv3 with the lock manager running); an NFS mount
/// with `nolock` or `local_lock=all` keeps locks on each client only, and then two jobs on different nodes would
/// not see each other.
package final class CheckpointLease {
    /// The lease file's name under the checkpoint root.
    package static let fileName = "lease"

    package let root: String
    package let generation: Int
    /// The file descriptor that holds the lock (rank 0 only, nil once released). Closing any descriptor of the file
    /// would drop the lock, so the file is only ever read and written through this one.
    private var descriptor: Int32?

    /// Who holds (or held) a lease, as the lease file records it.
    package struct Holder: Codable, Equatable, Sendable {
        package var generation: Int
        package var host: String
        package var pid: Int32
        package var started: String
        package var released: Bool

        package var description: String { "host \(host), process \(pid), since \(started) (generation \(generation))" }
    }

    private init(root: String, generation: Int, descriptor: Int32?) {
        self.root = root
        self.generation = generation
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Takes the lease on `root` on rank 0 and tells every rank its generation; a collective. Throws on every rank
    /// when another job holds it.
    package static func take(root: String, coordinator: Coordinator, output: (String) -> Void) throws -> CheckpointLease {
        var held: (descriptor: Int32, generation: Int, note: String?)?
        let generation = try coordinator.agree("taking the lease on checkpoint directory \(root)") { () -> Int in
            guard coordinator.isRoot else { return 0 }
            let taken = try takeLocally(root: root)
            held = taken
            return taken.generation
        }[0]
        if let note = held?.note { output(note) }
        return CheckpointLease(root: root, generation: generation, descriptor: held?.descriptor)
    }

    /// Marks the lease released and drops the lock; the next job takes it over without a warning.
    package func release() {
        guard let descriptor else { return }
        self.descriptor = nil
        if var holder = try? Self.read(descriptor) {
            holder.released = true
            try? Self.write(holder, to: descriptor, path: Self.path(root))
        }
        close(descriptor)
    }

    static func path(_ root: String) -> String { (root as NSString).appendingPathComponent(fileName) }

    /// Opens and locks the lease file, records this process as the holder of the next generation, and returns the
    /// open descriptor, the generation and a message when a stale lease was taken over.
    static func takeLocally(root: String) throws -> (descriptor: Int32, generation: Int, note: String?) {
        let path = path(root)
        do { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) } catch {
            throw CheckpointError.io(path: root, "cannot create the checkpoint directory: \(error)")
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CheckpointError.io(path: path, "cannot open the lease file: \(String(cString: strerror(errno)))") }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        var unlocked: String?
        if fcntl(descriptor, F_SETLK, &lock) != 0 {
            let reason = errno
            if [ENOLCK, ENOSYS, EOPNOTSUPP].contains(reason) {
                // Some shared filesystems offer no locks (Lustre without -o flock, NFS without a lock manager);
                // refusing to train there would help nobody, and the generations still fence late commits.
                unlocked = String(cString: strerror(reason))
            } else {
                let holder = try? read(descriptor)
                close(descriptor)
                guard reason == EAGAIN || reason == EACCES else {
                    throw CheckpointError.io(path: path, "cannot lock the lease file: \(String(cString: strerror(reason)))")
                }
                throw CheckpointError.leaseHeld(root: root, holder: holder?.description ?? "a process that has not recorded itself yet")
            }
        }
        do {
            let previous = try read(descriptor)
            let mine = Holder(
                generation: (previous?.generation ?? 0) + 1, host: ProcessInfo.processInfo.hostName, pid: getpid(),
                started: ISO8601DateFormatter().string(from: Date()), released: false)
            try write(mine, to: descriptor, path: path)
            var notes: [String] = []
            if let unlocked {
                notes.append("train: warning: \(path) cannot be locked here (\(unlocked)): a second job on this directory would not be refused; checkpoints are still fenced by generation")
            }
            if let previous, !previous.released {
                notes.append("train: taking over the lease on \(root) from \(previous.description), which ended without releasing it; this job is generation \(mine.generation)")
            }
            return (descriptor, mine.generation, notes.isEmpty ? nil : notes.joined(separator: "\n"))
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// The holder recorded in the file, nil when it is empty (a new directory).
    static func read(_ descriptor: Int32) throws -> Holder? {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset: off_t = 0
        while true {
            let count = pread(descriptor, &buffer, buffer.count, offset)
            guard count > 0 else { break }
            data.append(contentsOf: buffer[0..<count])
            offset += off_t(count)
        }
        guard !data.isEmpty else { return nil }
        guard let holder = try? JSONDecoder().decode(Holder.self, from: data) else {
            // A crash in the middle of a write can leave a torn record; the lock, not the record, says who is alive.
            return Holder(generation: Self.generation(in: data) ?? 0, host: "unknown", pid: 0, started: "unknown", released: false)
        }
        return holder
    }

    /// The generation number of a record that no longer parses as a whole, so that a torn write never lowers it.
    private static func generation(in data: Data) -> Int? {
        let text = String(decoding: data, as: UTF8.self)
        guard let range = text.range(of: #""generation"\s*:\s*\d+"#, options: .regularExpression) else { return nil }
        return Int(text[range].split(separator: ":").last!.trimmingCharacters(in: .whitespaces))
    }

    static func write(_ holder: Holder, to descriptor: Int32, path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(holder) + Data("\n".utf8)
        let written = data.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == data.count, ftruncate(descriptor, off_t(data.count)) == 0, fsync(descriptor) == 0 else {
            throw CheckpointError.io(path: path, "cannot write the lease file: \(String(cString: strerror(errno)))")
        }
    }
}
