import Foundation
import HDF5

/// What the checks of one existing image shard found (`vqvae2 index`): its image count and size, its largest
/// label, its class names and read-speed warnings. Errors name the file and the dataset.
package struct ShardCheck: Codable, Sendable, Equatable {
    package var file: String
    package var count: Int
    package var imageSize: Int
    /// The largest label and its row, for the range check against the class count the set settles on.
    package var largestLabel: Int
    package var largestLabelRow: Int
    /// Names the shard itself gives its classes, if any (not read when the class count was given).
    package var classNames: ClassNames?
    /// What the layout of `images` costs in read speed, if anything.
    package var warnings: [String]

    /// Checks `directory/file` as a shard of `names`: the images uint8 [N, S, S, 3], square, S a multiple of 8;
    /// the labels 1-D integers, one per image, none negative (nor `classCount` or above, when it is known); every
    /// filter available; and the first chunk of the images actually read.
    package init(directory: String, file: String, names: DatasetNames, classCount: Int? = nil) throws {
        let path = directory + "/" + file
        self.file = file
        let shard: File
        do {
            shard = try File(path: path, mode: .readOnly)
        } catch {
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            // The operating system's cause (a permission, say) is the one thing HDF5's own message adds.
            let cause = (error as? HDF5Error)?.cause.map { ": \($0)" } ?? ""
            throw ShardError(
                file: path, "cannot be opened as an HDF5 file (\(bytes) bytes): truncated, corrupt, or not HDF5\(cause)")
        }
        let images = try Self.dataset(shard, names.images, role: "images", option: "--images-dataset")
        let labels = try Self.dataset(shard, names.labels, role: "labels", option: "--labels-dataset")
        let describe = "dataset '\(names.images)'"
        guard images.storedType == .uint8 else {
            throw ShardError(file: path, "\(describe) holds \(images.storedTypeDescription), expected uint8 pixels (0-255)")
        }
        let shape = images.shape
        guard shape.count == 4, shape[3] == 3 else {
            throw ShardError(file: path, "\(describe) has shape \(shape), expected [N, S, S, 3] (RGB, channels last)")
        }
        guard shape[1] == shape[2] else {
            throw ShardError(file: path, "\(describe) holds \(shape[1])x\(shape[2]) images, expected square ones")
        }
        guard shape[1] % 8 == 0 else {
            throw ShardError(
                file: path, "\(describe) holds \(shape[1])x\(shape[1]) images: the model needs a side that is a multiple of 8")
        }
        guard shape[0] > 0 else { throw ShardError(file: path, "\(describe) holds no images") }
        count = shape[0]
        imageSize = shape[1]

        let labelsName = "dataset '\(names.labels)'"
        guard labels.shape.count == 1, let kind = labels.storedType, ShardSet.integerKinds.contains(kind) else {
            throw ShardError(
                file: path, "\(labelsName) must be a 1-D integer array, found \(labels.storedTypeDescription) \(labels.shape)")
        }
        guard labels.shape[0] == count else {
            throw ShardError(file: path, "\(labelsName) has \(labels.shape[0]) labels but \(describe) has \(count) images")
        }
        try Self.checkFilters(labels, name: names.labels, path: path)
        try Self.checkFilters(images, name: names.images, path: path)
        let values = try Self.reading(names.labels, path) { try labels.read(as: Int64.self) }
        if let row = values.firstIndex(where: { $0 < 0 }) {
            throw ShardError(file: path, "\(labelsName) holds label \(values[row]) at row \(row); labels count classes from 0")
        }
        let largest = values.indices.max { values[$0] < values[$1] }!
        largestLabel = Int(values[largest])
        largestLabelRow = largest
        if let classCount { try Self.checkRange(largestLabel, row: largest, classCount: classCount, in: path, labelsName) }

        // One chunk actually read: a corrupt chunk, or a filter that is present but fails, shows here and not hours
        // into training.
        let chunk = images.chunkShape
        let rows = min(chunk?[0] ?? 1, count)
        var pixels = [UInt8](repeating: 0, count: rows * imageSize * imageSize * 3)
        try Self.reading(names.images, path) {
            try pixels.withUnsafeMutableBufferPointer { try images.readRows(0, count: rows, into: $0) }
        }
        warnings = ReadCost.warnings(
            dataset: names.images, chunkRows: chunk?[0], imageBytes: imageSize * imageSize * 3, filters: images.filters)
        // A names file, when given, is the only source of names: what the shards say is not read.
        classNames = classCount == nil ? try ClassNames(inShard: shard, file: file) : nil
    }

    /// Fails unless `label` (the largest, at `row`) is below `classCount`.
    static func checkRange(_ label: Int, row: Int, classCount: Int, in path: String, _ labelsName: String) throws {
        guard label < classCount else {
            throw ShardError(file: path, "\(labelsName) holds label \(label) at row \(row), outside 0..<\(classCount)")
        }
    }

    private static func dataset(_ file: File, _ name: String, role: String, option: String) throws -> HDF5.Dataset {
        guard file.root.contains(name) else {
            let present = (try? file.root.childNames())?.joined(separator: ", ") ?? "?"
            throw ShardError(
                file: file.path, "no dataset '\(name)' (the \(role); \(option) names another); the file has: \(present)")
        }
        do { return try file.root.openDataset(name) } catch { throw ShardError(file: file.path, "dataset '\(name)': \(error)") }
    }

    /// Fails for the first filter of `dataset`'s pipeline that this HDF5 library cannot apply, saying what to do.
    private static func checkFilters(_ dataset: HDF5.Dataset, name: String, path: String) throws {
        guard let missing = dataset.filters.first(where: { !$0.isAvailable }) else { return }
        throw ShardError(
            file: path,
            "dataset '\(name)' uses HDF5 filter \(missing), which this HDF5 library lacks; rewrite the shard with gzip or "
                + "no compression, e.g. h5py's `f.create_dataset(..., compression='gzip')`, or install the filter plugin "
                + "and set HDF5_PLUGIN_PATH")
    }

    /// Runs a read of dataset `name`, naming the file and the dataset if it fails.
    @discardableResult
    private static func reading<T>(_ name: String, _ path: String, _ read: () throws -> T) throws -> T {
        do { return try read() } catch {
            throw ShardError(file: path, "dataset '\(name)' cannot be read (truncated or corrupt?): \(error)")
        }
    }
}
