import Foundation
import HDF5
import Storage

/// One rank's HDF5 file: a dataset per tensor at the tensor's path, fp32, contiguous, uncompressed (training state
/// hardly compresses, and plain layout reads fastest and is readable by any HDF5 tool).
enum ShardFile {
    /// Writes `tensors` into a new file at `path`, closes it and makes it durable; returns the per-tensor CRC-32s
    /// (in the order given), the file's size and CRC-32. `failingWithNoSpace` injects a full disk (`FaultInjection`).
    static func write(
        _ tensors: [StateTensor], to path: String, step: Int, shard: Int, worldSize: Int, failingWithNoSpace: Bool = false
    ) throws -> (tensorCRCs: [String], bytes: Int, crc32: String) {
        let crcs = try writeAndClose(
            tensors, to: path, step: step, shard: shard, worldSize: worldSize, failingWithNoSpace: failingWithNoSpace)
        try Durability.fsync(path)
        let bytes = try fileSize(path)
        let crc = try CRC32.file(path)
        return (crcs, bytes, String(format: "%08x", crc))
    }

    private static func writeAndClose(
        _ tensors: [StateTensor], to path: String, step: Int, shard: Int, worldSize: Int, failingWithNoSpace: Bool
    ) throws -> [String] {
        let file = try File(path: path, mode: .create)
        if failingWithNoSpace { try file.failWritesWithNoSpace() }
        try file.root.setAttribute("format_version", Int64(Manifest.currentFormatVersion))
        try file.root.setAttribute("step", Int64(step))
        try file.root.setAttribute("shard", Int64(shard))
        try file.root.setAttribute("world_size", Int64(worldSize))
        var crcs: [String] = []
        for tensor in tensors {
            let components = tensor.name.split(separator: "/").map(String.init)
            let group = try components.dropLast().reduce(file.root) { group, component in
                group.contains(component) ? try group.openGroup(component) : try group.createGroup(component)
            }
            let dataset = try group.createDataset(components.last!, type: .float32, shape: tensor.shape)
            try dataset.writeRows(0, count: tensor.shape[0], from: UnsafeBufferPointer(tensor.buffer))
            crcs.append(checksum(tensor.buffer))
        }
        try file.flush()
        return crcs
    }

    /// Reads the dataset named after `tensor` from `file` into its buffer, checking the stored type and shape.
    static func read(_ tensor: StateTensor, from file: File) throws {
        let dataset = try file.root.openDataset(tensor.name)
        guard dataset.storedType == .float32 else {
            throw CheckpointError.io(path: file.path, "dataset /\(tensor.name) stores \(dataset.storedTypeDescription), not float32")
        }
        guard dataset.shape == tensor.shape else {
            throw CheckpointError.io(path: file.path, "dataset /\(tensor.name) has shape \(dataset.shape), expected \(tensor.shape)")
        }
        try dataset.readRows(0, count: tensor.shape[0], into: tensor.buffer)
    }

    static func checksum(_ values: UnsafeMutableBufferPointer<Float>) -> String {
        var crc = CRC32()
        crc.update(UnsafeRawBufferPointer(values))
        return crc.hex
    }

    static func fileSize(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw CheckpointError.missingShard(file: path) }
        return Int(info.st_size)
    }
}
