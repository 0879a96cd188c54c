import MPI
import Numerics

#if canImport(Glibc)
import Glibc
#endif

/// Averages gradients over ranks in fused buckets, in the same fixed order on every rank.
///
/// Buckets are contiguous slices of the stores' flat gradient buffers (so no copy into a staging buffer), taken
/// from the last parameter backwards: backward passes finish the last layers first, so those buckets are ready
/// first. With `overlap`, `gradientsReady` launches a store's buckets as non-blocking all-reduces as soon as its
/// backward is done; Open MPI advances them only inside MPI calls, so the step `poll()`s between models, and
/// `average` starts whatever has not started, waits for the rest and scales. Over `SingleRank` the all-reduces
/// complete at once and only the scaling remains: one code path for any world size.
package final class GradientReducer {
    /// One bucket: `count` gradients starting at `offset` of the store at `store` in `stores`.
    package struct Bucket: Sendable, Equatable {
        package let store: Int
        package let offset: Int
        package let count: Int
    }

    package let collective: any Collective
    package let stores: [ParameterStore]
    package let buckets: [Bucket]
    /// Whether `gradientsReady` starts communication (otherwise everything starts in `average`).
    package let overlap: Bool
    private var inFlight: [PendingCollective] = []
    private var started: Set<Int> = []
    /// Seconds spent waiting in `average` for communication the backward did not hide, since the last take.
    private var exposedSeconds: Double = 0

    /// `bucketBytes` around 1-4 MiB is where shared-memory all-reduce between two ranks ran fastest here
    /// (1.7-5.6 GB/s, best at 256 KB-4 MB; docs/PERFORMANCE.md).
    package init(collective: any Collective, stores: [ParameterStore], bucketBytes: Int = 2 << 20, overlap: Bool = true) {
        self.collective = collective
        self.stores = stores
        self.overlap = overlap
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

    private func index(of store: ParameterStore) -> Int {
        guard let index = stores.firstIndex(where: { $0 === store }) else {
            preconditionFailure("a store the gradient reducer was not built with")
        }
        return index
    }

    /// `store`'s gradients are final for this step: with overlap, its all-reduce starts now.
    package func gradientsReady(_ store: ParameterStore) throws {
        if overlap { try start(index(of: store)) }
    }

    private func start(_ storeIndex: Int) throws {
        for (b, bucket) in buckets.enumerated() where bucket.store == storeIndex && !started.contains(b) {
            let buffer = UnsafeMutableBufferPointer(start: stores[storeIndex].gradients + bucket.offset, count: bucket.count)
            inFlight.append(try collective.startAllReduce(buffer, op: .sum))
            started.insert(b)
        }
    }

    /// Advances the buckets in flight; cheap enough to call between layers.
    package func poll() throws {
        for request in inFlight { _ = try request.test() }
    }

    /// Turns the gradients of `active` (a schedule that trains only some models leaves the others alone), each a
    /// sum over `microBatches` micro-batches' mean gradients on every rank, into the mean over the global batch:
    /// sums them over ranks and scales by 1 / (ranks * micro-batches). This is the one place that scale is applied.
    package func average(_ active: [ParameterStore], microBatches: Int) throws {
        let indices = active.map(index(of:))
        for index in indices { try start(index) }
        let begin = monotonicSeconds()
        for request in inFlight { try request.wait() }
        exposedSeconds += monotonicSeconds() - begin
        inFlight.removeAll()
        started.removeAll()
        let scale = 1 / Float(collective.size * microBatches)
        guard scale != 1 else { return }
        for store in active {
            let g = store.gradients
            for i in 0..<store.count { g[i] *= scale }
        }
    }

    /// Seconds of communication left exposed since the last call.
    package func takeExposedSeconds() -> Double {
        defer { exposedSeconds = 0 }
        return exposedSeconds
    }
}

/// CLOCK_MONOTONIC in seconds (MPI_Wtime needs an initialised MPI, which a world of one does not have).
private func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}
