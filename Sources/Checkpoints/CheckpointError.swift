/// Why a checkpoint could not be saved, found or loaded; every case names the file and the tensor or field.
package enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case invalidTensor(name: String, String)
    case nonFinite(tensor: String, index: Int, value: Float)
    case invalidManifest(file: String, field: String, String)
    case notCommitted(directory: String)
    case differentModel(checkpoint: String, found: String, expected: String)
    case missingTensor(checkpoint: String, tensor: String)
    case shapeMismatch(checkpoint: String, tensor: String, stored: [Int], expected: [Int])
    case missingShard(file: String)
    case shardSize(file: String, expected: Int, found: Int)
    case shardChecksum(file: String, expected: String, found: String)
    case tensorChecksum(file: String, tensor: String, expected: String, found: String)
    case ranksFailed(phase: String, [Int: String])
    case differentStates(ranks: [Int])
    case notShared(root: String, ranks: [Int])
    case io(path: String, String)
    case leaseHeld(root: String, holder: String)

    /// True for damage to a committed checkpoint's files (missing, truncated or corrupt shards, unreadable files),
    /// after which `--resume auto` tries an older checkpoint; false for a checkpoint that is intact but does not fit
    /// this run, which must stop it.
    package var isDamage: Bool {
        switch self {
        case .invalidManifest, .missingShard, .shardSize, .shardChecksum, .tensorChecksum, .io: return true
        default: return false
        }
    }

    package var description: String {
        switch self {
        case .invalidTensor(let name, let reason):
            return "state tensor '\(name)': \(reason)"
        case .nonFinite(let tensor, let index, let value):
            return "refusing to write a checkpoint: '\(tensor)' holds \(value) at element \(index); "
                + "existing checkpoints were left untouched"
        case .invalidManifest(let file, let field, let reason):
            return "\(file): manifest field '\(field)': \(reason)"
        case .notCommitted(let directory):
            return "\(directory): not a committed checkpoint (no manifest.json; an interrupted save is never loaded)"
        case .differentModel(let checkpoint, let found, let expected):
            return "checkpoint \(checkpoint) was written by a different model configuration: fingerprint \(found), "
                + "this run \(expected)"
        case .missingTensor(let checkpoint, let tensor):
            return "checkpoint \(checkpoint) has no tensor '\(tensor)'"
        case .shapeMismatch(let checkpoint, let tensor, let stored, let expected):
            return "checkpoint \(checkpoint): tensor '\(tensor)' has shape \(stored), this run expects \(expected)"
        case .missingShard(let file):
            return "\(file): shard listed in the manifest is missing"
        case .shardSize(let file, let expected, let found):
            return "\(file): shard is \(found) bytes, the manifest says \(expected) (truncated or replaced)"
        case .shardChecksum(let file, let expected, let found):
            return "\(file): shard CRC-32 is \(found), the manifest says \(expected) (corrupt)"
        case .tensorChecksum(let file, let tensor, let expected, let found):
            return "\(file): tensor '\(tensor)' has CRC-32 \(found), the manifest says \(expected)"
        case .ranksFailed(let phase, let failures):
            let lines = failures.keys.sorted().map { "rank \($0): \(failures[$0]!)" }
            return "checkpoint \(phase) failed on \(failures.count) rank(s); nothing was committed:\n  "
                + lines.joined(separator: "\n  ")
        case .differentStates(let ranks):
            return "checkpoint save: ranks \(ranks) passed a different list of tensor names and shapes than rank 0"
        case .notShared(let root, let ranks):
            return "checkpoint directory \(root) is not shared: rank 0 cannot see the files of ranks \(ranks); "
                + "put checkpoints on a filesystem every node mounts"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .leaseHeld(let root, let holder):
            return "checkpoint directory \(root) is in use by another job (\(holder)); stop that job, or give this one "
                + "another checkpoints.directory"
        }
    }
}
