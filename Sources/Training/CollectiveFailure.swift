import Configuration
import Coordination
import Checkpoints
import DataPipeline

/// An error every rank raises alike (a collective decision, or the same bad input read by all), so only rank 0
/// needs to report it.
package protocol CollectiveFailure: Error {}

extension TrainingError: CollectiveFailure {}
extension CoordinationError: CollectiveFailure {}
extension ConfigError: CollectiveFailure {}
extension TrainingSetupError: CollectiveFailure {}
extension ShardError: CollectiveFailure {}
extension CheckpointError: CollectiveFailure {}
extension SamplingStopped: CollectiveFailure {}
