import Foundation
import HDF5
import Storage

/// Writes one code shard: `top` int16 [n, h, w] and `bottom` int16 [n, 2h, 2w] code maps and `labels` int64 [n],
/// the data the staged schedule trains the priors on. Like image shards it is written under a temporary name and
/// renamed when complete and fsynced.
package final class CodeShardWriter {
    package let path: String
    private let temporaryPath: String
    private var file: File?
    private var top: HDF5.Dataset?
    private var bottom: HDF5.Dataset?
    private var labels: HDF5.Dataset?
    private let topArea: Int
    package private(set) var count = 0
    private var finished = false

    /// `topSize` is the top map's side; the bottom map's is twice it. `attributes` record where the codes came from.
    package init(path: String, topSize: Int, classes: [ImageClass], attributes: [String: String]) throws {
        self.path = path
        temporaryPath = path + ".partial"
        topArea = topSize * topSize
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: temporaryPath)
        let file = try File(path: temporaryPath, mode: .create)
        self.file = file
        let b = 2 * topSize
        top = try file.root.createDataset("top", type: .int16, shape: [0, topSize, topSize], chunk: [64, topSize, topSize], growable: true)
        bottom = try file.root.createDataset("bottom", type: .int16, shape: [0, b, b], chunk: [64, b, b], growable: true)
        labels = try file.root.createDataset("labels", type: .int64, shape: [0], chunk: [4096], growable: true)
        try file.root.setAttribute("class_wnids", classes.map(\.wnid).joined(separator: "\n"))
        try file.root.setAttribute("class_names", classes.map(\.name).joined(separator: "\n"))
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) { try file.root.setAttribute(key, value) }
    }

    /// Appends n samples: top codes n*h*w, bottom codes n*4*h*w (values below 32768), labels n.
    package func append(top topCodes: [Int32], bottom bottomCodes: [Int32], labels newLabels: [Int32]) throws {
        let n = newLabels.count
        precondition(topCodes.count == n * topArea && bottomCodes.count == 4 * n * topArea, "code maps do not match \(n) labels")
        guard let top, let bottom, let labels else { preconditionFailure("append after finish") }
        try top.resizeRows(count + n)
        try bottom.resizeRows(count + n)
        try labels.resizeRows(count + n)
        try topCodes.map { Int16($0) }.withUnsafeBufferPointer { try top.writeRows(count, count: n, from: $0) }
        try bottomCodes.map { Int16($0) }.withUnsafeBufferPointer { try bottom.writeRows(count, count: n, from: $0) }
        try newLabels.map { Int64($0) }.withUnsafeBufferPointer { try labels.writeRows(count, count: n, from: $0) }
        count += n
    }

    /// Closes, fsyncs and renames the shard; returns its manifest entry.
    package func finish() throws -> ShardManifest.Shard {
        try file?.flush()
        top = nil
        bottom = nil
        labels = nil
        file = nil
        let shard = try ShardManifest.Shard.commit(temporaryPath, as: path, count: count)
        finished = true
        return shard
    }

    /// A writer dropped before `finish` (a failure, or a stop) removes its partial file.
    deinit {
        guard !finished else { return }
        top = nil
        bottom = nil
        labels = nil
        file = nil
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }
}
