import CHDF5

/// Anything that carries attributes: groups (the file's root included) and datasets.
package protocol AttributeOwner {
    var file: File { get }
    var objectID: hid_t { get }
    var objectName: String { get }
}

extension AttributeOwner {
    private func error(_ attribute: String, _ message: String) -> HDF5Error {
        HDF5Error(file: file.path, object: "\(objectName) attribute '\(attribute)'", message)
    }

    /// The error of the HDF5 call on `attribute` that just failed.
    private func failure(_ attribute: String, _ what: String) -> HDF5Error {
        file.failure(object: "\(objectName) attribute '\(attribute)'", what)
    }

    package func hasAttribute(_ name: String) -> Bool { H5Aexists(objectID, name) > 0 }

    private func replaceAttribute(_ name: String, type: hid_t, space: hid_t, _ write: (hid_t) -> herr_t) throws {
        if hasAttribute(name) { H5Adelete(objectID, name) }
        let attribute = H5Acreate2(objectID, name, type, space, ch5_p_default(), ch5_p_default())
        guard attribute >= 0 else { throw failure(name, "cannot create") }
        defer { H5Aclose(attribute) }
        guard write(attribute) >= 0 else { throw failure(name, "cannot write") }
    }

    /// Sets a numeric array attribute, replacing any previous value.
    package func setAttribute<T: HDF5Element>(_ name: String, _ values: [T]) throws {
        var dims = [hsize_t(values.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        try replaceAttribute(name, type: T.elementType.nativeType, space: space) { attribute in
            values.withUnsafeBufferPointer { H5Awrite(attribute, T.elementType.nativeType, $0.baseAddress) }
        }
    }

    package func setAttribute<T: HDF5Element>(_ name: String, _ value: T) throws { try setAttribute(name, [value]) }

    /// Sets a string attribute (variable-length UTF-8, as h5py writes them), replacing any previous value.
    package func setAttribute(_ name: String, _ value: String) throws {
        let type = H5Tcopy(ch5_c_s1())
        defer { H5Tclose(type) }
        H5Tset_size(type, ch5_variable())
        H5Tset_cset(type, H5T_CSET_UTF8)
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        try replaceAttribute(name, type: type, space: space) { attribute in
            value.withCString { pointer in
                var pointers: [UnsafePointer<CChar>?] = [pointer]
                return H5Awrite(attribute, type, &pointers)
            }
        }
    }

    /// Reads a numeric attribute as an array, converting to T's type.
    package func attribute<T: HDF5Element>(_ name: String, as type: T.Type = T.self) throws -> [T] {
        guard hasAttribute(name) else { throw error(name, "missing") }
        let attribute = H5Aopen(objectID, name, ch5_p_default())
        guard attribute >= 0 else { throw failure(name, "cannot open") }
        defer { H5Aclose(attribute) }
        let stored = H5Aget_type(attribute)
        defer { H5Tclose(stored) }
        guard ElementType(stored: stored) != nil else { throw error(name, "is not numeric") }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard H5Aread(attribute, T.elementType.nativeType, buffer.baseAddress) >= 0 else {
                throw failure(name, "cannot read")
            }
            initialized = count
        }
    }

    /// Reads a scalar string attribute, fixed- or variable-length.
    package func stringAttribute(_ name: String) throws -> String {
        guard hasAttribute(name) else { throw error(name, "missing") }
        let attribute = H5Aopen(objectID, name, ch5_p_default())
        guard attribute >= 0 else { throw failure(name, "cannot open") }
        defer { H5Aclose(attribute) }
        let stored = H5Aget_type(attribute)
        defer { H5Tclose(stored) }
        guard H5Tget_class(stored) == H5T_STRING else { throw error(name, "is not a string") }
        if H5Tis_variable_str(stored) > 0 {
            var pointer: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attribute, stored, &pointer) >= 0, let pointer else { throw failure(name, "cannot read") }
            defer { H5free_memory(pointer) }
            return String(cString: pointer)
        }
        let size = H5Tget_size(stored)
        var buffer = [CChar](repeating: 0, count: size + 1)
        guard H5Aread(attribute, stored, &buffer) >= 0 else { throw failure(name, "cannot read") }
        return String(nulTerminated: buffer)
    }
}
