import Foundation
import HDF5
import Storage

/// Shards opened for reading as one indexable collection: global index i lives in one shard at one row.
///
/// Every shard is checked up front: each named dataset exists, has the element kind and per-row shape expected,
/// and as many rows as the labels; errors name the file and the dataset. Labels are read into memory at open;
/// rows of the other datasets are read on demand (one image per chunk makes a row one chunk read).
package final class ShardSet: @unchecked Sendable {
    /// What a dataset of every shard must look like.
    package struct Field: Sendable {
        package var name: String
        /// The shape of one row (nil extents are free but must agree across shards).
        package var rowShape: [Int?]
        package var kinds: Set<ElementType>
        package init(name: String, rowShape: [Int?], kinds: Set<ElementType>) {
            self.name = name
            self.rowShape = rowShape
            self.kinds = kinds
        }
    }

    package let paths: [String]
    package let kind: ShardKind
    package let fields: [Field]
    /// The per-row shape of each field, as found.
    package let rowShapes: [[Int]]
    package let labels: [Int32]
    package var count: Int { labels.count }
    private let starts: [Int]
    private let datasets: [[HDF5.Dataset]]

    static let integerKinds: Set<ElementType> = [.uint8, .int16, .int32, .int64, .uint64]

    package init(paths: [String], kind: ShardKind, fields: [Field], labelsName: String, classCount: Int? = nil) throws {
        guard !paths.isEmpty else { throw ShardError(file: "(no shards)", "no shard files given") }
        self.paths = paths
        self.kind = kind
        self.fields = fields
        var labels: [Int32] = []
        var starts: [Int] = []
        var datasets: [[HDF5.Dataset]] = []
        var found: [[Int]]? = nil
        for path in paths {
            let file = try File(path: path, mode: .readOnly)
            let labelSet = try Self.open(file, labelsName, "labels")
            guard labelSet.shape.count == 1, let kind = labelSet.storedType, Self.integerKinds.contains(kind) else {
                throw ShardError(
                    file: path, "dataset '\(labelsName)' must be a 1-D integer array, found \(labelSet.storedTypeDescription) \(labelSet.shape)")
            }
            let rows = labelSet.shape[0]
            let values = try labelSet.read(as: Int64.self)
            if let classCount, let bad = values.first(where: { $0 < 0 || $0 >= Int64(classCount) }) {
                throw ShardError(file: path, "dataset '\(labelsName)' holds label \(bad) outside 0..<\(classCount)")
            }
            starts.append(labels.count)
            labels += values.map { Int32($0) }
            var opened: [HDF5.Dataset] = []
            var shapes: [[Int]] = []
            for field in fields {
                let dataset = try Self.open(file, field.name, "data")
                let describe = "dataset '\(field.name)'"
                guard let kind = dataset.storedType, field.kinds.contains(kind) else {
                    throw ShardError(
                        file: path, "\(describe) holds \(dataset.storedTypeDescription), expected \(field.kinds.map(\.rawValue).sorted().joined(separator: " or "))")
                }
                guard dataset.shape.count == field.rowShape.count + 1 else {
                    throw ShardError(
                        file: path, "\(describe) has rank \(dataset.shape.count) (shape \(dataset.shape)), expected \(field.rowShape.count + 1)")
                }
                let rowShape = Array(dataset.shape.dropFirst())
                for (extent, expected) in zip(rowShape, field.rowShape) where expected != nil && extent != expected {
                    throw ShardError(
                        file: path, "\(describe) has shape \(dataset.shape), expected rows of \(field.rowShape.map { $0.map(String.init) ?? "*" })")
                }
                guard dataset.shape[0] == rows else {
                    throw ShardError(file: path, "\(describe) has \(dataset.shape[0]) rows but '\(labelsName)' has \(rows)")
                }
                opened.append(dataset)
                shapes.append(rowShape)
            }
            if let found, found != shapes {
                throw ShardError(file: path, "row shapes \(shapes) differ from the first shard's \(found)")
            }
            found = shapes
            datasets.append(opened)
        }
        self.labels = labels
        self.starts = starts
        self.datasets = datasets
        rowShapes = found ?? []
    }

    private static func open(_ file: File, _ name: String, _ role: String) throws -> HDF5.Dataset {
        guard file.root.contains(name) else {
            let present = (try? file.root.childNames())?.joined(separator: ", ") ?? "?"
            throw ShardError(file: file.path, "no dataset '\(name)' (the \(role)); the file has: \(present)")
        }
        return try file.root.openDataset(name)
    }

    /// The shard and row of global index `index`.
    @inline(__always)
    func locate(_ index: Int) -> (shard: Int, row: Int) {
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= index { lo = mid } else { hi = mid - 1 }
        }
        return (lo, index - starts[lo])
    }

    /// Reads row `index` of field `field` into `buffer`, converting to T.
    package func read<T: HDF5Element>(field: Int, index: Int, into buffer: UnsafeMutableBufferPointer<T>) throws {
        let (shard, row) = locate(index)
        try datasets[shard][field].readRows(row, count: 1, into: buffer)
    }
}

extension ShardSet {
    /// Image shards: `images` uint8 [n, S, S, 3] and integer `labels` [n].
    package static func images(
        paths: [String], names: DatasetNames = DatasetNames(), imageSize: Int? = nil, classCount: Int? = nil
    ) throws -> ShardSet {
        let set = try ShardSet(
            paths: paths, kind: .images, fields: [Field(name: names.images, rowShape: [imageSize, imageSize, 3], kinds: [.uint8])],
            labelsName: names.labels, classCount: classCount)
        guard set.rowShapes[0][0] == set.rowShapes[0][1] else {
            throw ShardError(file: paths[0], "dataset '\(names.images)' holds \(set.rowShapes[0]) images; expected square ones")
        }
        return set
    }

    /// Code shards: `top` [n, h, w] and `bottom` [n, 2h, 2w] integer code maps with `labels`.
    package static func codes(paths: [String], names: DatasetNames = DatasetNames(), classCount: Int? = nil) throws -> ShardSet {
        let set = try ShardSet(
            paths: paths, kind: .codes,
            fields: [
                Field(name: names.top, rowShape: [nil, nil], kinds: integerKinds),
                Field(name: names.bottom, rowShape: [nil, nil], kinds: integerKinds),
            ],
            labelsName: names.labels, classCount: classCount)
        let top = set.rowShapes[0], bottom = set.rowShapes[1]
        guard bottom == [top[0] * 2, top[1] * 2] else {
            throw ShardError(file: paths[0], "bottom codes \(bottom) are not twice the top codes \(top)")
        }
        return set
    }

    /// The shards of one split of a manifest, checked against it: files present, sizes (and with `verify`,
    /// CRC-32s) as recorded, counts as recorded.
    package static func open(manifest path: String, split: String, verify: Bool = false) throws -> (ShardManifest, ShardSet) {
        let manifest = try ShardManifest.load(path)
        guard let entries = manifest.splits[split] else {
            throw ShardError(file: path, "no split '\(split)' (have \(manifest.splits.keys.sorted().joined(separator: ", ")))")
        }
        let directory = (path as NSString).deletingLastPathComponent
        var paths: [String] = []
        for entry in entries.shards {
            let file = (directory.isEmpty ? "." : directory) + "/" + entry.file
            guard let size = try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int else {
                throw ShardError(file: path, "lists \(entry.file), which is not there")
            }
            guard size == entry.bytes else {
                throw ShardError(file: file, "is \(size) bytes, the manifest says \(entry.bytes) (truncated or replaced)")
            }
            if verify {
                let crc = String(format: "%08x", try CRC32.file(file))
                guard crc == entry.crc32 else {
                    throw ShardError(file: file, "CRC-32 \(crc) does not match the manifest's \(entry.crc32) (corrupt)")
                }
            }
            paths.append(file)
        }
        let set =
            manifest.kind == .codes
            ? try codes(paths: paths, names: manifest.datasetNames, classCount: manifest.classes.count)
            : try images(paths: paths, names: manifest.datasetNames, imageSize: manifest.imageSize, classCount: manifest.classes.count)
        for (entry, file) in zip(entries.shards, paths) {
            let rows = set.starts.count > 0 ? set.rowCount(of: file) : 0
            guard rows == entry.count else { throw ShardError(file: file, "holds \(rows) rows, the manifest says \(entry.count)") }
        }
        return (manifest, set)
    }

    private func rowCount(of path: String) -> Int {
        guard let i = paths.firstIndex(of: path) else { return 0 }
        return (i + 1 < starts.count ? starts[i + 1] : count) - starts[i]
    }
}
