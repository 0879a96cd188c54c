import CHDF5

/// An open HDF5 file; closed when the last reference goes away.
package final class File: @unchecked Sendable {
    /// The path the file was opened with, used in every error message.
    package let path: String
    let id: hid_t

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
            let verb = (mode == .readOnly || mode == .readWrite) ? "cannot open" : "cannot create"
            throw HDF5Error(file: path, "\(verb) HDF5 file (missing, unreadable, not HDF5, or locked)")
        }
        self.id = id
    }

    deinit { H5Fclose(id) }

    /// The root group, where datasets and attributes of the file live.
    package var root: Group { Group(file: self, id: id, name: "/", owned: false) }

    /// Writes every buffered change to the operating system (pair with fsync for durability).
    package func flush() throws {
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw HDF5Error(file: path, "flush failed") }
    }

    /// The HDF5 library version as "major.minor.release".
    package static var libraryVersion: String {
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
