import CHDF5

/// One filter of a chunked dataset's pipeline (a compressor, the shuffle, a checksum), as the file records it.
package struct Filter: Sendable, Equatable, CustomStringConvertible {
    /// The registered filter id: 1 deflate (gzip), 2 shuffle, 32000 h5py's LZF, ...
    package let id: Int
    /// The name the file records, else the registered name of a well-known id, else "unnamed".
    package let name: String
    /// Whether this HDF5 library can apply it: built in, or a plugin found on HDF5_PLUGIN_PATH.
    package let isAvailable: Bool

    package init(id: Int, name: String, isAvailable: Bool) {
        self.id = id
        self.name = name
        self.isAvailable = isAvailable
    }

    /// Whether it changes the bytes' size: everything but the shuffle (a reordering) and Fletcher-32 (a checksum).
    package var compresses: Bool { id != Int(H5Z_FILTER_SHUFFLE) && id != Int(H5Z_FILTER_FLETCHER32) }

    package var description: String { "\(id) (\(name))" }

    /// Names of the filters HDF5 defines and of common third-party ones (from The HDF Group's list of registered
    /// filters), for files that record no name.
    static let knownNames: [Int: String] = [
        1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset",
        307: "bzip2", 32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32015: "zstd",
    ]
}

extension Dataset {
    /// The filter pipeline applied to every chunk, in the order of writing; empty for contiguous datasets.
    package var filters: [Filter] {
        ch5_silence_errors()
        let properties = H5Dget_create_plist(id)
        defer { H5Pclose(properties) }
        let count = max(H5Pget_nfilters(properties), 0)
        return (0..<UInt32(count)).map { index in
            var flags: UInt32 = 0, configuration: UInt32 = 0, valueCount = 0
            var name = [CChar](repeating: 0, count: 256)
            let id = Int(H5Pget_filter2(properties, index, &flags, &valueCount, nil, name.count, &name, &configuration))
            let recorded = String(nulTerminated: name)
            return Filter(
                id: id, name: recorded.isEmpty ? Filter.knownNames[id] ?? "unnamed" : recorded,
                isAvailable: H5Zfilter_avail(H5Z_filter_t(id)) > 0)
        }
    }
}
