/// Eight-lane exp, sigmoid and tanh for the element-wise layers: libm's scalar tanhf/expf calls took about 10% of
/// a prior's training step. tanh(a) * sigmoid(b) stays within 1e-6 relative of libm (GateApproximationTests); below
/// x = -87 exp and sigmoid return about e^-87 instead of going subnormal.
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

    /// e^x with Cephes' range reduction x = n ln2 + r, |r| <= ln2/2, and its degree-7 polynomial for e^r;
    /// arguments are clamped to [-87, 88] so that 2^n stays a normal float.
    @inline(__always)
    static func exp(_ x: Vector) -> Vector {
        // Masked replacement rather than clamped(): that one stays a generic call in release builds.
        var x = x
        x.replace(with: Vector(repeating: -87), where: x .< -87)
        x.replace(with: Vector(repeating: 88), where: x .> 88)
        // Adding 1.5 * 2^23 rounds x/ln2 to an integer held in the low mantissa bits.
        let magic = Vector(repeating: 12_582_912)
        let shifted = x * 1.442_695_04 + magic
        let n = shifted - magic
        let r = x - n * 0.693_359_375 - n * -2.121_944_4e-4
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 0.166_666_655
        p = p * r + 0.500_000_01
        p = p * r * r + r + 1
        // 2^n: the integer n sits in the low bits of `shifted` (bit pattern 0x4B400000 + n); move it to the exponent.
        let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127
        return p * unsafeBitCast(bits &<< 23, to: Vector.self)
    }

    /// 1 / (1 + e^-x); with the clamp in `exp`, neither tail overflows.
    @inline(__always)
    static func sigmoid(_ x: Vector) -> Vector { 1 / (1 + exp(-x)) }

    /// tanh x = 1 - 2 / (e^2x + 1), and its Taylor series below |x| = 1/8, where that difference would cancel.
    @inline(__always)
    static func tanh(_ x: Vector) -> Vector {
        let large = 1 - 2 / (exp(x + x) + 1)
        let x2 = x * x
        var series = x2 * Vector(repeating: -17 / 315) + Vector(repeating: 2 / 15)
        series = series * x2 + Vector(repeating: -1 / 3)
        let small = x + x * x2 * series
        let magnitude = x.replacing(with: -x, where: x .< 0)
        return large.replacing(with: small, where: magnitude .< 0.125)
    }
}
