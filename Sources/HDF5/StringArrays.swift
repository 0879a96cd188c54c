import CHDF5

/// Reading strings held as a scalar or a 1-D array, fixed- or variable-length: the forms h5py writes for a `str`,
/// a list of `str`, or a numpy array of bytes.
enum StringArrays {
    enum Outcome {
        case strings([String])
        case notStrings
        /// The read call failed (its error is on HDF5's stack).
        case failed
    }

    /// The strings of `space` elements of the stored type `stored`, read by `read(memoryType, buffer)`. Trailing
    /// padding (NULs, or spaces for space-padded types) is dropped.
    static func read(stored: hid_t, space: hid_t, _ read: (hid_t, UnsafeMutableRawPointer) -> herr_t) -> Outcome {
        guard H5Tget_class(stored) == H5T_STRING else { return .notStrings }
        let count = Int(H5Sget_simple_extent_npoints(space))
        if H5Tis_variable_str(stored) > 0 {
            let memory = H5Tcopy(ch5_c_s1())
            defer { H5Tclose(memory) }
            H5Tset_size(memory, ch5_variable())
            H5Tset_cset(memory, H5Tget_cset(stored))
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            let status = pointers.withUnsafeMutableBytes { read(memory, $0.baseAddress!) }
            defer { for pointer in pointers where pointer != nil { H5free_memory(pointer) } }
            guard status >= 0 else { return .failed }
            return .strings(pointers.map { $0.map { String(cString: $0) } ?? "" })
        }
        let size = H5Tget_size(stored)
        var bytes = [CChar](repeating: 0, count: max(count * size, 1))
        guard bytes.withUnsafeMutableBytes({ read(stored, $0.baseAddress!) }) >= 0 else { return .failed }
        let spacePadded = H5Tget_strpad(stored) == H5T_STR_SPACEPAD
        return .strings((0..<count).map { index in
            var text = String(nulTerminated: Array(bytes[index * size..<(index + 1) * size]))
            while spacePadded && text.hasSuffix(" ") { text.removeLast() }
            return text
        })
    }
}

extension Dataset {
    /// Reads a string dataset (scalar or 1-D), fixed- or variable-length.
    package func readStrings() throws -> [String] {
        let stored = H5Dget_type(id)
        defer { H5Tclose(stored) }
        let space = H5Dget_space(id)
        defer { H5Sclose(space) }
        let result = StringArrays.read(stored: stored, space: space) { memory, buffer in
            H5Dread(id, memory, ch5_s_all(), ch5_s_all(), ch5_p_default(), buffer)
        }
        switch result {
        case .failed: throw file.failure(object: name, "cannot read strings")
        case .notStrings: throw HDF5Error(file: file.path, object: name, "holds \(storedTypeDescription), not strings")
        case .strings(let strings): return strings
        }
    }
}

extension AttributeOwner {
    /// Reads a string attribute (scalar or 1-D), fixed- or variable-length.
    package func stringsAttribute(_ name: String) throws -> [String] {
        let object = "\(objectName) attribute '\(name)'"
        guard hasAttribute(name) else { throw HDF5Error(file: file.path, object: object, "missing") }
        let attribute = H5Aopen(objectID, name, ch5_p_default())
        guard attribute >= 0 else { throw file.failure(object: object, "cannot open") }
        defer { H5Aclose(attribute) }
        let stored = H5Aget_type(attribute)
        defer { H5Tclose(stored) }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        switch StringArrays.read(stored: stored, space: space, { H5Aread(attribute, $0, $1) }) {
        case .failed: throw file.failure(object: object, "cannot read")
        case .notStrings: throw HDF5Error(file: file.path, object: object, "is not a string")
        case .strings(let strings): return strings
        }
    }
}
