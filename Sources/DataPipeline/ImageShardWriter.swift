import Foundation
import HDF5
import Storage

/// Writes one image shard in the common layout: `images` uint8 [n, S, S, 3] chunked one image per chunk,
/// uncompressed (gzip costs 8x in read speed for 1.2x in size), `labels` int64 [n], and attributes naming the
/// classes, the image size and the source.
///
/// The file is written under a temporary name and renamed when finished and fsynced, so a shard under its final
/// name is always complete.
package final class ImageShardWriter {
    package let path: String
    private let temporaryPath: String
    // Optional so that finish() can drop them: HDF5 closes the file only when its last object is gone.
    private var file: File?
    private var images: HDF5.Dataset?
    private var labels: HDF5.Dataset?
    private let imageSize: Int
    package private(set) var count = 0
    private var finished = false
    private var pendingPixels: [UInt8] = []
    private var pendingLabels: [Int64] = []
    private let flushEvery = 64

    package init(path: String, imageSize: Int, classes: [ImageClass], source: String, attributes: [String: String] = [:]) throws {
        self.path = path
        self.imageSize = imageSize
        temporaryPath = path + ".partial"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: temporaryPath)
        let file = try File(path: temporaryPath, mode: .create)
        self.file = file
        let s = imageSize
        images = try file.root.createDataset(
            "images", type: .uint8, shape: [0, s, s, 3], chunk: [1, s, s, 3], growable: true)
        labels = try file.root.createDataset("labels", type: .int64, shape: [0], chunk: [4096], growable: true)
        try file.root.setAttribute("image_size", Int64(imageSize))
        try file.root.setAttribute("source", source)
        try file.root.setAttribute("class_wnids", classes.map(\.wnid).joined(separator: "\n"))
        try file.root.setAttribute("class_names", classes.map(\.name).joined(separator: "\n"))
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) { try file.root.setAttribute(key, value) }
    }

    /// Adds one image (S*S*3 bytes, RGB) with its label.
    package func append(pixels: [UInt8], label: Int) throws {
        precondition(pixels.count == imageSize * imageSize * 3, "image of the wrong size for \(path)")
        pendingPixels += pixels
        pendingLabels.append(Int64(label))
        if pendingLabels.count >= flushEvery { try writePending() }
    }

    private func writePending() throws {
        let n = pendingLabels.count
        guard n > 0, let images, let labels else { return }
        try images.resizeRows(count + n)
        try labels.resizeRows(count + n)
        try pendingPixels.withUnsafeBufferPointer { try images.writeRows(count, count: n, from: $0) }
        try pendingLabels.withUnsafeBufferPointer { try labels.writeRows(count, count: n, from: $0) }
        count += n
        pendingPixels.removeAll(keepingCapacity: true)
        pendingLabels.removeAll(keepingCapacity: true)
    }

    /// Writes what is pending, closes, fsyncs and moves the file to its final name; returns its manifest entry.
    package func finish() throws -> ShardManifest.Shard {
        try writePending()
        try file?.flush()
        images = nil
        labels = nil
        file = nil
        let shard = try ShardManifest.Shard.commit(temporaryPath, as: path, count: count)
        finished = true
        return shard
    }

    /// A writer dropped before `finish` (a failure, or a stop) removes its partial file.
    deinit {
        guard !finished else { return }
        images = nil
        labels = nil
        file = nil
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }
}
