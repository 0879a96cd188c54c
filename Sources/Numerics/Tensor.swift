#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A dense row-major fp32 array (NHWC for feature maps) that owns 64-byte-aligned memory.
///
/// Layers keep their outputs in tensors they own and `resize` them per call: memory is reallocated only when a
/// call needs more than any call before, so a training loop allocates nothing after its first step.
///
/// With `mapLargeBuffers(true)`, buffers of 8 MiB and more are mapped from the kernel and unmapped on release
/// rather than taken from malloc's heap. The launcher tells glibc to keep everything below 1 GB on its heap and
/// never trim it (so that buffers released every step are not faulted back in, which costs small models 10-40%),
/// and there the large buffers that the paper's priors release and reallocate layer by layer under recomputation
/// fragmented the heap: the resident set grew by about 250 MB a step. Mapped, a released buffer's pages go back at
/// once and a step's peak is what it holds; mapping again costs one page fault per 4 KB page, little beside the
/// work a prior's layer does on a buffer that size, but 2% of a 64 px VQ-VAE step at batch 32, whose 8 MiB
/// activations and gradients are released and taken again every step; so it is off unless a run asks for it.
package final class Tensor {
    package private(set) var shape: [Int]
    package private(set) var count: Int
    package private(set) var data: UnsafeMutablePointer<Float>
    private var capacity: Int
    /// Whether `data` was mapped (and must be unmapped) rather than taken from malloc.
    private var isMapped: Bool

    /// A tensor of `shape`, filled with zeros.
    package init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        capacity = count
        (data, isMapped) = Tensor.allocate(count)
        data.initialize(repeating: 0, count: count)
    }

    /// A tensor of `shape` holding `values` (row-major).
    package convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { Tensor.deallocate(data, count: capacity, mapped: isMapped) }

    /// Makes buffers of `mappedBytes` and more, allocated from now on, mapped from the kernel (`true`) or taken
    /// from malloc (`false`, the default). Set at start-up: on by a training run that recomputes the priors' gated
    /// layers (`train.recompute_gated_layers`, the paper-scale memory measures). A buffer keeps the kind it was
    /// allocated as, so changing it later is safe.
    package static func mapLargeBuffers(_ on: Bool) { mapsLargeBuffers.store(on, ordering: .relaxed) }

    /// Whether buffers of `mappedBytes` and more are mapped when allocated now.
    package static var mapsLargeBuffersNow: Bool { mapsLargeBuffers.load(ordering: .relaxed) }

    private static let mapsLargeBuffers = Atomic<Bool>(false)

    /// Bytes from which a buffer is mapped rather than taken from the heap, when mapping is on.
    package static let mappedBytes = 8 << 20

    private static func allocate(_ count: Int) -> (UnsafeMutablePointer<Float>, mapped: Bool) {
        let bytes = max(count, 16) * MemoryLayout<Float>.stride
        if bytes >= mappedBytes && mapsLargeBuffersNow {
            let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let raw, raw != MAP_FAILED else { fatalError("out of memory: \(bytes) bytes") }
            return (raw.bindMemory(to: Float.self, capacity: max(count, 16)), true)
        }
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else { fatalError("out of memory: \(bytes) bytes") }
        return (raw.bindMemory(to: Float.self, capacity: max(count, 16)), false)
    }

    /// Hands back a buffer that `allocate(count)` returned.
    private static func deallocate(_ data: UnsafeMutablePointer<Float>, count: Int, mapped: Bool) {
        if mapped { munmap(data, max(count, 16) * MemoryLayout<Float>.stride) } else { free(data) }
    }

    /// Whether this tensor's buffer is mapped from the kernel (for tests).
    package var bufferIsMapped: Bool { isMapped }

    /// Gives the tensor a new shape; contents are unspecified unless the count is unchanged.
    package func resize(_ newShape: [Int]) {
        let newCount = newShape.reduce(1, *)
        if newCount > capacity {
            Tensor.deallocate(data, count: capacity, mapped: isMapped)
            (data, isMapped) = Tensor.allocate(newCount)
            capacity = newCount
        }
        shape = newShape
        count = newCount
    }

    /// Hands the memory back to the allocator until the next `resize`: for a gradient once it has been consumed,
    /// so that backward holds only the gradients still to be read, as a framework that frees them would, and the
    /// allocator reuses the space for the next layer's.
    package func release() {
        guard capacity > 0 else { return }
        Tensor.deallocate(data, count: capacity, mapped: isMapped)
        (data, isMapped) = Tensor.allocate(0)
        capacity = 0
        shape = [0]
        count = 0
    }

    /// Gives the tensor the shape of `other` (the usual way to size a gradient buffer).
    package func resize(like other: Tensor) { resize(other.shape) }

    package func zero() { data.update(repeating: 0, count: count) }

    /// The contents as an array (for tests and small reads).
    package var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Copies `other`'s shape and contents.
    package func copy(from other: Tensor) {
        resize(other.shape)
        data.update(from: other.data, count: count)
    }

    /// The buffer as a Swift buffer pointer.
    package var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

    /// Extents of a rank-4 NHWC tensor.
    package var n: Int { shape[0] }
    package var h: Int { shape[1] }
    package var w: Int { shape[2] }
    package var c: Int { shape[shape.count - 1] }
}
