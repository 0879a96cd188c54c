import CHDF5

/// A group in a file: holds datasets, sub-groups and attributes.
package final class Group: AttributeOwner, @unchecked Sendable {
    package let file: File
    let id: hid_t
    /// The group's path inside the file.
    package let name: String
    private let owned: Bool

    init(file: File, id: hid_t, name: String, owned: Bool) {
        self.file = file
        self.id = id
        self.name = name
        self.owned = owned
    }

    deinit { if owned { H5Gclose(id) } }

    package var objectID: hid_t { id }
    package var objectName: String { name }

    private func childPath(_ child: String) -> String { name == "/" ? "/" + child : name + "/" + child }

    /// Whether a link named `child` exists in this group.
    package func contains(_ child: String) -> Bool { H5Lexists(id, child, ch5_p_default()) > 0 }

    /// The names of the links in this group, in name order.
    package func childNames() throws -> [String] {
        var info = H5G_info_t()
        guard H5Gget_info(id, &info) >= 0 else { throw file.failure(object: name, "cannot list group") }
        return try (0..<info.nlinks).map { index in
            let length = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, ch5_p_default())
            guard length >= 0 else { throw file.failure(object: name, "cannot read link name") }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, ch5_p_default())
            return String(nulTerminated: buffer)
        }
    }

    package func createGroup(_ child: String) throws -> Group {
        let creation = H5Pcreate(ch5_p_group_create())
        defer { H5Pclose(creation) }
        H5Pset_obj_track_times(creation, false)
        let gid = H5Gcreate2(id, child, ch5_p_default(), creation, ch5_p_default())
        guard gid >= 0 else { throw file.failure(object: childPath(child), "cannot create group") }
        return Group(file: file, id: gid, name: childPath(child), owned: true)
    }

    package func openGroup(_ child: String) throws -> Group {
        guard contains(child) else { throw HDF5Error(file: file.path, object: childPath(child), "no such group") }
        let gid = H5Gopen2(id, child, ch5_p_default())
        guard gid >= 0 else { throw file.failure(object: childPath(child), "cannot open group", guess: "not a group") }
        return Group(file: file, id: gid, name: childPath(child), owned: true)
    }

    /// Creates a dataset of `shape`; `chunk` (same rank) makes it chunked, for example one image per chunk,
    /// `growable` lets its first dimension be extended later, and `gzip` (a level, 1-9) compresses every chunk
    /// (both for chunked datasets only).
    ///
    /// Object timestamps are off, so the same contents always give the same file bytes (and checksums).
    package func createDataset(
        _ child: String, type: ElementType, shape: [Int], chunk: [Int]? = nil, growable: Bool = false, gzip: Int? = nil
    ) throws -> Dataset {
        let path = childPath(child)
        precondition(!growable || chunk != nil, "a growable dataset must be chunked")
        precondition(gzip == nil || chunk != nil, "a compressed dataset must be chunked")
        var dims = shape.map { hsize_t($0) }
        var maxDims = dims
        if growable { maxDims[0] = ch5_s_unlimited() }
        let space = H5Screate_simple(Int32(dims.count), &dims, &maxDims)
        guard space >= 0 else { throw file.failure(object: path, "cannot create dataspace \(shape)") }
        defer { H5Sclose(space) }
        let properties = H5Pcreate(ch5_p_dataset_create())
        defer { H5Pclose(properties) }
        H5Pset_obj_track_times(properties, false)
        if let chunk {
            precondition(chunk.count == shape.count, "chunk rank must equal dataset rank")
            var chunkDims = chunk.map { hsize_t($0) }
            guard H5Pset_chunk(properties, Int32(chunkDims.count), &chunkDims) >= 0 else {
                throw HDF5Error(file: file.path, object: path, "invalid chunk shape \(chunk) for \(shape)")
            }
        }
        if let gzip, H5Pset_deflate(properties, UInt32(gzip)) < 0 {
            throw HDF5Error(file: file.path, object: path, "invalid gzip level \(gzip)")
        }
        let did = H5Dcreate2(id, child, type.nativeType, space, ch5_p_default(), properties, ch5_p_default())
        guard did >= 0 else { throw file.failure(object: path, "cannot create dataset") }
        return try Dataset(file: file, id: did, name: path)
    }

    /// Creates a dataset holding `values` with `shape` (product of shape == values.count).
    @discardableResult
    package func writeDataset<T: HDF5Element>(_ child: String, _ values: [T], shape: [Int]? = nil) throws -> Dataset {
        let dataset = try createDataset(child, type: T.elementType, shape: shape ?? [values.count])
        try dataset.write(values)
        return dataset
    }

    package func openDataset(_ child: String) throws -> Dataset {
        let path = childPath(child)
        guard contains(child) else { throw HDF5Error(file: file.path, object: path, "no such dataset") }
        let did = H5Dopen2(id, child, ch5_p_default())
        guard did >= 0 else { throw file.failure(object: path, "cannot open dataset", guess: "not a dataset") }
        return try Dataset(file: file, id: did, name: path)
    }
}
