import MPI
import Numerics

/// Sums gradients over ranks in fused buckets, in the same fixed order on every rank, then scales them.
///
/// Buckets are contiguous slices of the stores' flat gradient buffers (so no copy into a staging buffer), taken
/// from the last parameter backwards: backward passes finish the last layers first, so those buckets are ready
/// first. `start(store:)` launches one store's buckets as non-blocking all-reduces; Open MPI advances them only
/// inside MPI calls, so the caller `poll()`s between layers and `finish()` waits for the rest. A caller without
/// overlap just calls `reduce()`.
public final class GradientReducer {
    /// One bucket: `count` gradients starting at `offset` of store `store`.
    public struct Bucket: Sendable, Equatable {
        public let store: Int
        public let offset: Int
        public let count: Int
    }

    public let communicator: Communicator
    public let stores: [ParameterStore]
    public let buckets: [Bucket]
    private var inFlight: [(bucket: Int, request: Request)] = []
    private var started: Set<Int> = []
    /// Seconds spent waiting in `finish()` for communication the backward did not hide, since the last reset.
    public private(set) var exposedSeconds: Double = 0

    /// `bucketBytes` around 1-4 MiB is where shared-memory all-reduce runs fastest (BRIEF section 6).
    public init(communicator: Communicator, stores: [ParameterStore], bucketBytes: Int = 2 << 20) {
        self.communicator = communicator
        self.stores = stores
        let perBucket = max(bucketBytes / MemoryLayout<Float>.stride, 1)
        var buckets: [Bucket] = []
        for (index, store) in stores.enumerated() {
            var end = store.count
            while end > 0 {
                let start = max(0, end - perBucket)
                buckets.append(Bucket(store: index, offset: start, count: end - start))
                end = start
            }
        }
        self.buckets = buckets
    }

    /// Launches every bucket of store `index` (its gradients are final for this step).
    public func start(store index: Int) throws {
        for (b, bucket) in buckets.enumerated() where bucket.store == index && !started.contains(b) {
            let buffer = UnsafeMutableBufferPointer(start: stores[index].gradients + bucket.offset, count: bucket.count)
            inFlight.append((b, try communicator.startAllReduce(buffer)))
            started.insert(b)
        }
    }

    /// Advances the buckets in flight; cheap enough to call between layers.
    public func poll() throws {
        for (_, request) in inFlight { _ = try request.test() }
    }

    /// Starts whatever has not started of the stores in `active` (all by default: a schedule that trains only some
    /// models leaves the others' gradients alone), waits for everything, and multiplies those gradients by `scale`
    /// (1 / (ranks * micro-batches) turns the sum of per-micro-batch mean gradients into the global mean).
    public func finish(scale: Float, stores active: [Int]? = nil) throws {
        let indices = active ?? Array(stores.indices)
        for index in indices { try start(store: index) }
        let begin = MPIRuntime.wallTime()
        for (_, request) in inFlight { try request.wait() }
        exposedSeconds += MPIRuntime.wallTime() - begin
        inFlight.removeAll()
        started.removeAll()
        if scale != 1 {
            for store in indices.map({ stores[$0] }) {
                let g = store.gradients
                for i in 0..<store.count { g[i] *= scale }
            }
        }
    }

    /// All-reduce without overlap: start everything, wait, scale.
    public func reduce(scale: Float) throws { try finish(scale: scale) }

    public func resetTimers() { exposedSeconds = 0 }
}
