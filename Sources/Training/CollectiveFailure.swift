import Configuration
import Coordination
import Checkpoints
import DataPipeline

/// An error every rank raises alike (a collective decision, or the same bad input read by all), so only rank 0
/// needs to report it.
package protocol CollectiveFailure: Error {
    /// True when the input is wrong (a config value, the data, a checkpoint that does not fit): running the same
    /// job again cannot help, so the process exits with status 2, which launch/mpirun.sh never restarts.
    var isBadInput: Bool { get }
}

extension CollectiveFailure {
    package var isBadInput: Bool { false }
}

extension TrainingError: CollectiveFailure {}
extension CoordinationError: CollectiveFailure {}
extension ConfigError: CollectiveFailure {
    package var isBadInput: Bool { true }
}
extension TrainingSetupError: CollectiveFailure {
    package var isBadInput: Bool { true }
}
extension ShardError: CollectiveFailure {
    package var isBadInput: Bool { true }
}
/// Every rank reads the same source folder when it plans the shards, so all meet its errors alike.
extension SourceError: CollectiveFailure {
    package var isBadInput: Bool { true }
}
extension CheckpointError: CollectiveFailure {
    package var isBadInput: Bool {
        switch self {
        case .differentModel, .missingTensor, .shapeMismatch, .notCommitted, .notShared, .leaseHeld: return true
        default: return false
        }
    }
}
extension SamplingStopped: CollectiveFailure {}
