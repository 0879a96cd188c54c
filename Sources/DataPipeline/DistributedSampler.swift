import Numerics

/// Which samples each rank reads, with the semantics of PyTorch's DistributedSampler plus set_epoch:
/// a permutation seeded by (seed, epoch), the same on every rank; global batch b holds the `globalBatch`
/// consecutive entries starting at b * globalBatch, and rank r of R takes the contiguous slice
/// [r * globalBatch / R, (r + 1) * globalBatch / R) of it — so R ranks see, step by step, exactly the samples one
/// rank with the whole batch would. The ragged tail of an epoch is dropped.
package struct DistributedSampler: Sendable, Equatable {
    package let count: Int
    package let globalBatch: Int
    package let rank: Int
    package let worldSize: Int
    package let seed: UInt64
    package let shuffle: Bool

    package init(count: Int, globalBatch: Int, rank: Int, worldSize: Int, seed: UInt64, shuffle: Bool = true) throws {
        guard globalBatch > 0, globalBatch % worldSize == 0 else {
            throw SamplerError("global batch \(globalBatch) does not split evenly over \(worldSize) ranks")
        }
        guard count >= globalBatch else {
            throw SamplerError("the data holds \(count) samples, fewer than one global batch of \(globalBatch)")
        }
        self.count = count
        self.globalBatch = globalBatch
        self.rank = rank
        self.worldSize = worldSize
        self.seed = seed
        self.shuffle = shuffle
    }

    /// Samples per rank per step.
    package var localBatch: Int { globalBatch / worldSize }

    /// Full global batches in one epoch.
    package var stepsPerEpoch: Int { count / globalBatch }

    /// The visiting order of epoch `epoch`: a Fisher-Yates shuffle driven by a counter-based stream.
    package func order(epoch: Int) -> [Int32] {
        var order = (0..<count).map { Int32($0) }
        guard shuffle else { return order }
        let random = CounterRandom(seed: seed, purpose: .epochOrder, keys: [UInt64(epoch)])
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, random.integer(UInt64(i), below: i + 1))
        }
        return order
    }

    /// The offset of this rank's slice inside a global batch.
    package var sliceOffset: Int { rank * localBatch }

    /// This rank's sample indices for the global batch starting at `position` of `order`.
    package func localIndices(order: [Int32], position: Int) -> ArraySlice<Int32> {
        let start = position + sliceOffset
        return order[start..<(start + localBatch)]
    }
}

/// Where training stands in the data, in global samples so that it maps to any world size.
package struct DataPosition: Codable, Sendable, Equatable {
    package var epoch: Int
    /// Samples of this epoch's order already consumed by all ranks together.
    package var sampleInEpoch: Int

    package init(epoch: Int = 0, sampleInEpoch: Int = 0) {
        self.epoch = epoch
        self.sampleInEpoch = sampleInEpoch
    }

    /// The position after one more global batch, rolling into the next epoch when the rest would be ragged.
    package func advanced(by globalBatch: Int, count: Int) -> DataPosition {
        var next = DataPosition(epoch: epoch, sampleInEpoch: sampleInEpoch + globalBatch)
        if next.sampleInEpoch + globalBatch > count { next = DataPosition(epoch: epoch + 1, sampleInEpoch: 0) }
        return next
    }

    /// The position to start reading from: an epoch's ragged tail (left by a different global batch) rolls over.
    package func normalized(globalBatch: Int, count: Int) -> DataPosition {
        sampleInEpoch + globalBatch > count ? DataPosition(epoch: epoch + 1, sampleInEpoch: 0) : self
    }
}

/// The held-out split divided for evaluation: every sample exactly once across ranks.
///
/// The split is cut into global batches of `batch` consecutive samples (the last may be smaller) and batch j goes
/// to rank j mod R. A batch holds the same samples whatever the world size, so every image goes through exactly
/// the same computation (fp32 results of a batched product depend on the batch's rows) and 1, 2 or 3 ranks give the
/// same numbers up to the order in which their sums are added.
package struct EvaluationPartition: Sendable, Equatable {
    package let count: Int
    package let rank: Int
    package let worldSize: Int
    package let batch: Int

    package init(count: Int, rank: Int, worldSize: Int, batch: Int) {
        precondition(batch > 0 && worldSize > 0 && rank < worldSize, "bad evaluation partition")
        self.count = count
        self.rank = rank
        self.worldSize = worldSize
        self.batch = batch
    }

    /// The global index ranges of this rank's batches, in order.
    package var batches: [Range<Int>] {
        stride(from: rank * batch, to: count, by: worldSize * batch).map { $0..<min($0 + batch, count) }
    }
}

/// A sampler setting that cannot work.
package struct SamplerError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
