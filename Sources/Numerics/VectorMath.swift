/// Eight-lane loads and stores for the element-wise loops written in Swift (Adam, dropout, the table-lookup
/// convolution). The kernels that pay for a wider instruction set (exp, sigmoid and tanh of the gate, ReLU,
/// Winograd's transforms, accumulation) live in CVectorKernels, chosen at start-up (`VectorVariant`).
enum VectorMath {
    typealias Vector = SIMD8<Float>

    /// Eight floats from `p`, which need not be aligned.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector { UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }

    /// Writes eight floats to `p`, which need not be aligned.
    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }
}
