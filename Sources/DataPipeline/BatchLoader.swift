import Foundation
import Numerics

/// One rank's share of a global batch, as the model takes it.
package final class Batch: @unchecked Sendable {
    /// Images [b, S, S, 3] in [-1, 1] (image shards; empty for code shards).
    package let images = Tensor(shape: [0])
    /// Top and bottom code maps, row-major per sample (code shards; empty for image shards).
    package internal(set) var top: [Int32] = []
    package internal(set) var bottom: [Int32] = []
    package internal(set) var labels: [Int32] = []
    /// Dataset indices of the samples.
    package internal(set) var indices: [Int32] = []
    /// Where the global batch this slice belongs to starts; nil for evaluation batches.
    package internal(set) var position: DataPosition?
    /// Index of this rank's first sample inside the global batch: with the step, the key of per-sample randomness.
    package internal(set) var firstSample = 0
    package var count: Int { indices.count }

    init() {}

    /// A batch of code maps made in memory rather than read (a benchmark's random codes): samples
    /// firstSample ..< firstSample + labels.count of a global batch.
    package init(top: [Int32], bottom: [Int32], labels: [Int32], firstSample: Int) {
        self.top = top
        self.bottom = bottom
        self.labels = labels
        self.firstSample = firstSample
        indices = (0..<Int32(labels.count)).map { $0 }
    }

    /// A batch of images made in memory rather than read (a test's fixed batch): `images` [b, S, S, 3] are
    /// samples firstSample ..< firstSample + b of a global batch.
    package init(images: Tensor, labels: [Int32], firstSample: Int) {
        precondition(images.shape.count == 4 && images.n == labels.count, "\(labels.count) labels for images \(images.shape)")
        self.images.copy(from: images)
        self.labels = labels
        self.firstSample = firstSample
        indices = (0..<Int32(labels.count)).map { $0 }
    }
}

/// Reads batches on one background thread, ahead of the training thread, into a small pool of reused buffers.
///
/// Debian's HDF5 serialises every call behind one lock, so one reader thread is as fast as several; every HDF5 call
/// of the loader happens on that thread. The batch `next()` returns stays valid until the following `next()`.
/// Training schedules never end (epochs roll over); evaluation schedules end after the rank's part of the split.
package final class BatchLoader: @unchecked Sendable {
    /// Which samples to read, batch after batch.
    package enum Schedule: Sendable {
        /// Training from `start`: this rank's slices of global batches, forever, with optional random flips.
        case training(DistributedSampler, start: DataPosition, flip: Bool)
        /// Evaluation: this rank's batches of the split.
        case evaluation(EvaluationPartition)
    }

    package let shards: ShardSet
    package let schedule: Schedule
    private let isCodes: Bool
    private let condition = NSCondition()
    private var ready: [Batch] = []
    private var free: [Batch]
    private var lent: Batch?
    private var failure: Error?
    private var finished = false
    private var stopping = false
    private var thread: Thread?

    package init(shards: ShardSet, schedule: Schedule, prefetch: Int = 3) {
        switch schedule {
        case .training(let sampler, _, _): precondition(sampler.count == shards.count, "sampler and shards disagree on the count")
        case .evaluation(let partition): precondition(partition.count == shards.count, "partition and shards disagree on the count")
        }
        self.shards = shards
        self.schedule = schedule
        isCodes = shards.kind == .codes
        free = (0..<max(prefetch, 1)).map { _ in Batch() }
        let thread = Thread { [unowned self] in self.produce() }
        thread.name = "vqvae2-loader"
        self.thread = thread
        thread.start()
    }

    deinit { stop() }

    /// Ends the reader thread; pending batches are dropped.
    package func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// The next batch (nil when an evaluation schedule is done). Rethrows a read error from the reader thread.
    package func next() throws -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        if let lent {
            free.append(lent)
            self.lent = nil
            condition.broadcast()
        }
        while ready.isEmpty && failure == nil && !finished { condition.wait() }
        if ready.isEmpty {
            if let failure { throw failure }
            return nil
        }
        let batch = ready.removeFirst()
        lent = batch
        return batch
    }

    private func produce() {
        defer {
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        var plan = BatchPlan(schedule: schedule, labels: shards.labels)
        while let item = plan.next() {
            condition.lock()
            while free.isEmpty && !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                return
            }
            let batch = free.removeLast()
            condition.unlock()
            do {
                try fill(batch, item)
            } catch {
                condition.lock()
                failure = error
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.lock()
            ready.append(batch)
            condition.broadcast()
            condition.unlock()
        }
    }

    private func fill(_ batch: Batch, _ item: BatchPlan.Item) throws {
        batch.indices = item.indices
        batch.labels = item.indices.map { shards.labels[Int($0)] }
        batch.position = item.position
        batch.firstSample = item.firstSample
        if isCodes {
            try readCodes(batch)
        } else {
            try readImages(batch, flips: item.flips)
        }
    }

    private func readImages(_ batch: Batch, flips: [Bool]) throws {
        let side = shards.rowShapes[0][0]
        let rowBytes = side * side * 3
        batch.images.resize([batch.count, side, side, 3])
        let scratch = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: rowBytes)
        defer { scratch.deallocate() }
        let out = batch.images.data
        for (i, index) in batch.indices.enumerated() {
            try shards.read(field: 0, index: Int(index), into: scratch)
            let image = out + i * rowBytes
            let pixels = scratch.baseAddress!
            // [0, 255] -> [-1, 1]; a flip mirrors each row.
            for y in 0..<side {
                for x in 0..<side {
                    let source = pixels + (y * side + (flips[i] ? side - 1 - x : x)) * 3
                    let target = image + (y * side + x) * 3
                    target[0] = Float(source[0]) * (2 / 255) - 1
                    target[1] = Float(source[1]) * (2 / 255) - 1
                    target[2] = Float(source[2]) * (2 / 255) - 1
                }
            }
        }
    }

    private func readCodes(_ batch: Batch) throws {
        let topSize = shards.rowShapes[0].reduce(1, *), bottomSize = shards.rowShapes[1].reduce(1, *)
        batch.top = [Int32](repeating: 0, count: batch.count * topSize)
        batch.bottom = [Int32](repeating: 0, count: batch.count * bottomSize)
        for (i, index) in batch.indices.enumerated() {
            try batch.top.withUnsafeMutableBufferPointer {
                try shards.read(field: 0, index: Int(index), into: UnsafeMutableBufferPointer(rebasing: $0[(i * topSize)..<((i + 1) * topSize)]))
            }
            try batch.bottom.withUnsafeMutableBufferPointer {
                try shards.read(field: 1, index: Int(index), into: UnsafeMutableBufferPointer(rebasing: $0[(i * bottomSize)..<((i + 1) * bottomSize)]))
            }
        }
    }
}

/// The sequence of batches a schedule asks for: pure arithmetic, no I/O, so it can be tested and reasoned about.
struct BatchPlan {
    struct Item {
        var indices: [Int32]
        var position: DataPosition?
        var firstSample: Int
        var flips: [Bool]
    }

    let schedule: BatchLoader.Schedule
    private var position: DataPosition
    private var order: [Int32] = []
    private var orderEpoch = -1
    private var evaluated = 0

    init(schedule: BatchLoader.Schedule, labels: [Int32]) {
        self.schedule = schedule
        if case .training(let sampler, let start, _) = schedule {
            position = start.normalized(globalBatch: sampler.globalBatch, count: sampler.count)
        } else {
            position = DataPosition()
        }
    }

    mutating func next() -> Item? {
        switch schedule {
        case .training(let sampler, _, let flip):
            if orderEpoch != position.epoch {
                order = sampler.order(epoch: position.epoch)
                orderEpoch = position.epoch
            }
            let indices = Array(sampler.localIndices(order: order, position: position.sampleInEpoch))
            let random = CounterRandom(seed: sampler.seed, purpose: .flip, keys: [UInt64(position.epoch)])
            let flips = indices.map { flip && random.uniform(UInt64($0)) < 0.5 }
            let item = Item(indices: indices, position: position, firstSample: sampler.sliceOffset, flips: flips)
            position = position.advanced(by: sampler.globalBatch, count: sampler.count)
            return item
        case .evaluation(let partition):
            let batches = partition.batches
            guard evaluated < batches.count else { return nil }
            let range = batches[evaluated]
            evaluated += 1
            let indices = range.map { Int32($0) }
            return Item(indices: indices, position: nil, firstSample: range.lowerBound, flips: indices.map { _ in false })
        }
    }
}
