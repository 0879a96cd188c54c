#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
///
/// A value depends only on (seed, stream, index), never on how many values were drawn before, so any rank can
/// draw the numbers of any sample: dropout masks, initialisation and restarts come out the same whatever the
/// world size, and nothing needs to be saved in a checkpoint.
package struct CounterRandom: Sendable {
    package let seed: UInt64
    package let stream: UInt64

    /// A stream identified by the seed and any list of keys, for example (purpose, step, global sample index).
    package init(seed: UInt64, keys: [UInt64]) {
        self.seed = seed
        var s: UInt64 = 0x9E37_79B9_7F4A_7C15
        for key in keys { s = CounterRandom.mix(s ^ CounterRandom.mix(key &+ 0x632B_E59B_D9B4_E019)) }
        stream = s
    }

    /// A stream given by its number rather than by keys (Random123's known-answer vectors name it directly).
    init(seed: UInt64, stream: UInt64) {
        self.seed = seed
        self.stream = stream
    }

    /// SplitMix64's finaliser: a bijective mix so that nearby keys give unrelated streams.
    @inlinable
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Four 32-bit random words for block `index` of the stream.
    @inlinable
    package func block(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: index), c1 = UInt32(truncatingIfNeeded: index >> 32)
        var c2 = UInt32(truncatingIfNeeded: stream), c3 = UInt32(truncatingIfNeeded: stream >> 32)
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            c1 = UInt32(truncatingIfNeeded: p1)
            c3 = UInt32(truncatingIfNeeded: p0)
            c0 = n0
            c2 = n2
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Blocks `first` ..< `first` + 8 at once, the same words as `block` gives one at a time: lane b of `words.k`
    /// is word k of block `first` + b, so position 4 (first + b) + k of the stream. Eight lanes let the
    /// multiplications run as vector instructions, where dropout's masks spent most of their time.
    @inlinable
    package func blocks(_ first: UInt64) -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
        let lanes = SIMD8<UInt64>(0, 1, 2, 3, 4, 5, 6, 7) &+ first
        var c0 = SIMD8<UInt32>(truncatingIfNeeded: lanes), c1 = SIMD8<UInt32>(truncatingIfNeeded: lanes &>> 32)
        var c2 = SIMD8<UInt32>(repeating: UInt32(truncatingIfNeeded: stream))
        var c3 = SIMD8<UInt32>(repeating: UInt32(truncatingIfNeeded: stream >> 32))
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = SIMD8<UInt64>(truncatingIfNeeded: c0) &* 0xD251_1F53
            let p1 = SIMD8<UInt64>(truncatingIfNeeded: c2) &* 0xCD9E_8D57
            let n0 = SIMD8<UInt32>(truncatingIfNeeded: p1 &>> 32) ^ c1 ^ k0
            let n2 = SIMD8<UInt32>(truncatingIfNeeded: p0 &>> 32) ^ c3 ^ k1
            c1 = SIMD8<UInt32>(truncatingIfNeeded: p1)
            c3 = SIMD8<UInt32>(truncatingIfNeeded: p0)
            c0 = n0
            c2 = n2
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// A 32-bit random word at position `index` of the stream.
    @inlinable
    package func word(_ index: UInt64) -> UInt32 {
        let b = block(index >> 2)
        switch index & 3 {
        case 0: return b.0
        case 1: return b.1
        case 2: return b.2
        default: return b.3
        }
    }

    /// A uniform value in [0, 1) at position `index` (24 random bits, so every value is exact in fp32).
    @inlinable
    package func uniform(_ index: UInt64) -> Float { Float(word(index) >> 8) * (1.0 / 16_777_216.0) }

    /// A standard normal value at position `index` (Box-Muller on two words of one block).
    @inlinable
    package func normal(_ index: UInt64) -> Float {
        let b = block(index)
        let u1 = (Double(b.0) + 1) / 4_294_967_297.0
        let u2 = Double(b.1) / 4_294_967_296.0
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// A uniform integer in 0 ..< bound at position `index`.
    @inlinable
    package func integer(_ index: UInt64, below bound: Int) -> Int {
        let b = block(index)
        let wide = (UInt64(b.0) << 32) | UInt64(b.1)
        return Int(wide.multipliedFullWidth(by: UInt64(bound)).high)
    }
}
