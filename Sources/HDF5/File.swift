import CHDF5
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// An open HDF5 file; closed when the last reference goes away.
package final class File: @unchecked Sendable {
    /// The path the file was opened with, used in every error message.
    package let path: String
    let id: hid_t
    private let writable: Bool
    /// Set when a write failed because of the operating system (a full disk, say): such a file is abandoned at
    /// close rather than flushed again.
    private var systemFailure = false

    /// How to open a file.
    package enum Mode: Sendable {
        case readOnly, readWrite
        /// Create a new file; fails if one exists.
        case create
        /// Create a new file, replacing any file already there.
        case truncate
    }

    package init(path: String, mode: Mode) throws {
        ch5_silence_errors()
        self.path = path
        writable = mode != .readOnly
        // No object timestamps: the same contents give the same bytes, so checksums compare runs.
        let creation = H5Pcreate(ch5_p_file_create())
        defer { H5Pclose(creation) }
        H5Pset_obj_track_times(creation, false)
        let id: hid_t
        switch mode {
        case .readOnly: id = H5Fopen(path, ch5_f_acc_rdonly(), ch5_p_default())
        case .readWrite: id = H5Fopen(path, ch5_f_acc_rdwr(), ch5_p_default())
        case .create: id = H5Fcreate(path, ch5_f_acc_excl(), creation, ch5_p_default())
        case .truncate: id = H5Fcreate(path, ch5_f_acc_trunc(), creation, ch5_p_default())
        }
        guard id >= 0 else {
            let opening = mode == .readOnly || mode == .readWrite
            throw HDF5Error.afterFailedCall(
                file: path, opening ? "cannot open HDF5 file" : "cannot create HDF5 file",
                guess: opening ? "missing, unreadable, not HDF5, or locked" : "exists, or locked")
        }
        self.id = id
    }

    /// Closes the file. One whose writes failed in the operating system is first pointed at an anonymous file in
    /// memory: HDF5 1.10 cannot close a file whose flush failed, and would keep the partial file (and its disk
    /// space) open; its remains on disk are the caller's to remove.
    deinit {
        if systemFailure { redirectToMemory() }
        H5Fclose(id)
    }

    private func redirectToMemory() {
        let descriptor = ch5_descriptor(id), sink = ch5_memory_file()
        guard descriptor >= 0, sink >= 0 else { return }
        dup2(sink, descriptor)
        close(sink)
    }

    /// The error of the HDF5 call on this file that just failed (see `HDF5Error.afterFailedCall`); a cause from the
    /// operating system marks a writable file for abandonment at close.
    func failure(object: String = "", _ what: String, guess: String? = nil) -> HDF5Error {
        let error = HDF5Error.afterFailedCall(file: path, object: object, what, guess: guess)
        if writable && error.cause != nil { systemFailure = true }
        return error
    }

    /// The root group, where datasets and attributes of the file live.
    package var root: Group { Group(file: self, id: id, name: "/", owned: false) }

    /// Writes every buffered change to the operating system (pair with fsync for durability).
    package func flush() throws {
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw failure("flush failed") }
    }

    /// Fault injection: every later write to the file fails in the kernel with ENOSPC (its descriptor is pointed at
    /// /dev/full), so the error takes the path of a disk that is really full, through HDF5's error stack.
    package func failWritesWithNoSpace() throws {
        let descriptor = ch5_descriptor(id)
        guard descriptor >= 0 else { throw HDF5Error(file: path, "fault injection needs the default (sec2) driver") }
        try Durability.failWritesWithNoSpace(descriptor: descriptor)
    }

    /// The HDF5 library version as "major.minor.release".
    package static var libraryVersion: String {
        ch5_silence_errors()
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }

    /// Whether the library was built thread-safe (one global lock around every call).
    package static var isThreadSafe: Bool {
        var safe: hbool_t = false
        H5is_library_threadsafe(&safe)
        return safe
    }
}
