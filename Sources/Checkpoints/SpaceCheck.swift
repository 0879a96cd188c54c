import Foundation
import Storage

/// The free-space check before a save: a checkpoint that cannot fit fails on every rank before a byte is written,
/// with the numbers, instead of halfway through a shard. statvfs does not see quotas, so a save can still fail with
/// EDQUOT (or ENOSPC, when another writer fills the disk meanwhile); that error then names its cause.
enum SpaceCheck {
    /// HDF5's structure per dataset (object header, link, the groups above it), rounded up generously.
    static let bytesPerTensor = 4096
    /// Each shard file's superblock and root group.
    static let bytesPerShard = 64 << 10
    /// Room for the manifest's records and for what else shares the filesystem.
    static let reserve = 1 << 20

    /// What a save of `tensors` by `worldSize` ranks writes, every rank's shard and the manifest, with a margin.
    static func bytesNeeded(_ tensors: [StateTensor], worldSize: Int, configBytes: Int) -> Int {
        tensors.reduce(0) { $0 + $1.byteCount } + tensors.count * bytesPerTensor + worldSize * bytesPerShard
            + configBytes + reserve
    }

    /// Throws `InsufficientSpace` when the filesystem of `root` has less than `needed` bytes free.
    static func require(_ needed: Int, root: String, step: Int) throws {
        let free = try FreeSpace.availableBytes(at: root)
        guard free >= needed else { throw InsufficientSpace(root: root, step: step, needed: needed, free: free) }
    }
}

/// A save refused before it wrote anything: the checkpoint directory's filesystem has less free space than the
/// checkpoint needs.
package struct InsufficientSpace: Error, CustomStringConvertible, Equatable {
    package let root: String
    package let step: Int
    package let needed: Int
    package let free: Int

    package var description: String {
        "checkpoint directory \(root): not enough free space for the checkpoint of step \(step): it needs about "
            + "\(needed) bytes (\(Self.megabytes(needed))), the filesystem has \(free) free (\(Self.megabytes(free))); "
            + "nothing was written, and the checkpoints already committed are untouched"
    }

    private static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
