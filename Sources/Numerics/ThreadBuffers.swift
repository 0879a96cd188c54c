/// One scratch buffer per thread of the pool, so that the pieces of a loop never share one.
final class ThreadBuffers {
    private var buffers: [Tensor] = []

    /// Gives every thread a buffer of at least `count` floats (kept between passes, as a single buffer was).
    func prepare(count: Int) {
        while buffers.count < ThreadPool.shared.threadCount { buffers.append(Tensor(shape: [0])) }
        for buffer in buffers.prefix(ThreadPool.shared.threadCount) where buffer.count < count {
            buffer.resize([count])
        }
    }

    /// Hands every buffer back until the next `prepare`.
    func release() {
        for buffer in buffers { buffer.release() }
    }

    /// Thread `thread`'s buffer.
    subscript(thread: Int) -> UnsafeMutablePointer<Float> { buffers[thread].data }
}

/// The last step of a reduction split into groups: partial sums added in group order.
enum GroupSum {
    /// destination[e] += parts[0][e] + parts[1][e] + ... (left to right), for `size` elements per part.
    static func add(
        _ parts: UnsafePointer<Float>, groups: Int, size: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        ThreadPool.shared.forEachRange(count: size) { range, _ in
            for e in range {
                var sum = parts[e]
                for group in 1..<max(groups, 1) { sum += parts[group * size + e] }
                destination[e] += sum
            }
        }
    }
}
