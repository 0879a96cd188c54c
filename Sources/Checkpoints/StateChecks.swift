/// A check a save runs on the tensors this rank writes before anything touches the disk; throwing refuses the
/// save on every rank and leaves existing checkpoints as they are.
///
/// Cross-rank identity of the replicas is not checked here: that is the Coordinator's job
/// (`Coordinator.verifyIdentical`), which the training loop runs before it saves.
package typealias StateCheck = ([StateTensor]) throws -> Void

/// Checks the module offers for `CheckpointWriter.save`.
package enum StateChecks {
    /// Throws `CheckpointError.nonFinite` naming the first tensor and element that is NaN or infinite.
    package static func requireFinite(_ tensors: [StateTensor]) throws {
        for tensor in tensors {
            if let index = tensor.buffer.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError.nonFinite(tensor: tensor.name, index: index, value: tensor.buffer[index])
            }
        }
    }
}
