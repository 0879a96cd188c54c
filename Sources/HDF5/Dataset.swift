import CHDF5

/// A dataset in a file: an n-dimensional array of one element type.
package final class Dataset: AttributeOwner, @unchecked Sendable {
    package let file: File
    let id: hid_t
    /// The dataset's path inside the file.
    package let name: String
    /// The extent of each dimension.
    package private(set) var shape: [Int]
    /// The stored element type, or nil when it is not one this project reads (strings, compounds, ...).
    package let storedType: ElementType?
    /// A description of the stored type for error messages ("uint8", "uint16", "string", ...).
    package let storedTypeDescription: String

    init(file: File, id: hid_t, name: String) throws {
        self.file = file
        self.id = id
        self.name = name
        let space = H5Dget_space(id)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        shape = rank == 0 ? [] : dims.prefix(rank).map { Int($0) }
        let type = H5Dget_type(id)
        defer { H5Tclose(type) }
        storedType = ElementType(stored: type)
        storedTypeDescription = describeStoredType(type)
    }

    deinit { H5Dclose(id) }

    package var objectID: hid_t { id }
    package var objectName: String { name }

    /// The number of elements.
    package var count: Int { shape.reduce(1, *) }

    /// The chunk shape, or nil for a contiguous dataset.
    package var chunkShape: [Int]? {
        let properties = H5Dget_create_plist(id)
        defer { H5Pclose(properties) }
        guard H5Pget_layout(properties) == H5D_CHUNKED else { return nil }
        var dims = [hsize_t](repeating: 0, count: max(shape.count, 1))
        let rank = H5Pget_chunk(properties, Int32(dims.count), &dims)
        return dims.prefix(Int(rank)).map { Int($0) }
    }

    private var rowSize: Int { shape.dropFirst().reduce(1, *) }

    private func error(_ message: String) -> HDF5Error { HDF5Error(file: file.path, object: name, message) }

    /// Sets the first dimension to `rows` (a dataset created `growable`; shrinking drops the rows past the end).
    package func resizeRows(_ rows: Int) throws {
        var dims = shape.map { hsize_t($0) }
        dims[0] = hsize_t(rows)
        guard H5Dset_extent(id, &dims) >= 0 else {
            throw file.failure(object: name, "cannot resize to \(rows) rows", guess: "not growable?")
        }
        shape[0] = rows
    }

    /// Reads rows `start ..< start + rows` of the first dimension into `buffer`, converting to T's type.
    package func readRows<T: HDF5Element>(_ start: Int, count rows: Int, into buffer: UnsafeMutableBufferPointer<T>) throws {
        guard !shape.isEmpty, start >= 0, rows >= 0, start + rows <= shape[0] else {
            throw error("rows \(start)..<\(start + rows) out of range for shape \(shape)")
        }
        precondition(buffer.count >= rows * rowSize, "buffer too small for \(rows) rows of \(name)")
        try transferRows(start, rows, writing: false) { memory, fileSpace in
            H5Dread(id, T.elementType.nativeType, memory, fileSpace, ch5_p_default(), buffer.baseAddress)
        }
    }

    /// Writes rows `start ..< start + rows` of the first dimension from `buffer`.
    package func writeRows<T: HDF5Element>(_ start: Int, count rows: Int, from buffer: UnsafeBufferPointer<T>) throws {
        guard !shape.isEmpty, start >= 0, rows >= 0, start + rows <= shape[0] else {
            throw error("rows \(start)..<\(start + rows) out of range for shape \(shape)")
        }
        precondition(buffer.count >= rows * rowSize, "buffer too small for \(rows) rows of \(name)")
        try transferRows(start, rows, writing: true) { memory, fileSpace in
            H5Dwrite(id, T.elementType.nativeType, memory, fileSpace, ch5_p_default(), buffer.baseAddress)
        }
    }

    private func transferRows(_ start: Int, _ rows: Int, writing: Bool, _ body: (hid_t, hid_t) -> herr_t) throws {
        // HDF5's error printing is set per thread, and a loader reads on a thread of its own.
        ch5_silence_errors()
        let fileSpace = H5Dget_space(id)
        defer { H5Sclose(fileSpace) }
        var offset = [hsize_t](repeating: 0, count: shape.count)
        var extent = shape.map { hsize_t($0) }
        offset[0] = hsize_t(start)
        extent[0] = hsize_t(rows)
        H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &offset, nil, &extent, nil)
        let memory = H5Screate_simple(Int32(extent.count), &extent, nil)
        defer { H5Sclose(memory) }
        guard body(memory, fileSpace) >= 0 else {
            throw writing
                ? file.failure(object: name, "writing rows \(start)..<\(start + rows) failed")
                : file.failure(object: name, "reading rows \(start)..<\(start + rows) failed", guess: Self.readGuess)
        }
    }

    /// Reads the whole dataset, converting to T's type.
    package func read<T: HDF5Element>(as type: T.Type = T.self) throws -> [T] {
        try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard H5Dread(id, T.elementType.nativeType, ch5_s_all(), ch5_s_all(), ch5_p_default(), buffer.baseAddress) >= 0
            else { throw file.failure(object: name, "read failed", guess: Self.readGuess) }
            initialized = count
        }
    }

    /// Writes the whole dataset.
    package func write<T: HDF5Element>(_ values: [T]) throws {
        guard values.count == count else { throw error("writing \(values.count) values into shape \(shape)") }
        let status = values.withUnsafeBufferPointer {
            H5Dwrite(id, T.elementType.nativeType, ch5_s_all(), ch5_s_all(), ch5_p_default(), $0.baseAddress)
        }
        guard status >= 0 else { throw file.failure(object: name, "write failed") }
    }

    private static let readGuess = "corrupt file, or a compression filter this HDF5 lacks"
}
