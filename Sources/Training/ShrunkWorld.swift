/// A job that continues on fewer ranks than it started with (launch/mpirun.sh --max-restarts after a host was
/// left out): each rank keeps its micro-batch, so that its memory does not grow, and accumulates more
/// micro-batches, so that the global batch and with it the training stay exactly the same.
///
/// Going from W to W' ranks multiplies `train.micro_batches` by W / W', which must be a whole number.
package enum ShrunkWorld {
    /// Adapts `config` (written for `firstWorldSize` ranks) to `worldSize`; returns a line for the log when
    /// anything changed.
    package static func adapt(_ config: inout ExperimentConfig, firstWorldSize: Int, worldSize: Int) throws -> String? {
        guard firstWorldSize != worldSize else { return nil }
        let t = config.train
        guard firstWorldSize > worldSize, firstWorldSize % worldSize == 0,
            t.globalBatch % (firstWorldSize * t.microBatches) == 0
        else {
            throw TrainingSetupError(
                "the job started with \(firstWorldSize) ranks and continues with \(worldSize): each rank cannot keep "
                    + "its micro-batch (train.global_batch \(t.globalBatch), train.micro_batches \(t.microBatches) at "
                    + "\(firstWorldSize) ranks) unless \(worldSize) divides \(firstWorldSize)")
        }
        let microBatch = t.globalBatch / (firstWorldSize * t.microBatches)
        config.train.microBatches = t.microBatches * firstWorldSize / worldSize
        return "train: \(worldSize) of the job's first \(firstWorldSize) ranks remain: train.micro_batches "
            + "\(t.microBatches) -> \(config.train.microBatches), so that each rank keeps its micro-batch of \(microBatch) images"
    }
}
