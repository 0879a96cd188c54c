/// Inverted dropout: in training each element is zeroed with probability p and the survivors scaled by 1/(1-p);
/// at evaluation and sampling the layer is the identity.
///
/// The mask of element e of global sample s is drawn at index e of the counter-based stream keyed by
/// (seed, `RandomPurpose.dropout`, layerId, step, s), so it does not depend on how samples are spread over ranks or on
/// what any other layer drew.
package final class Dropout {
    package let probability: Float
    package let layerId: UInt64
    package let output = Tensor(shape: [0])
    package let inputGradient = Tensor(shape: [0])
    /// Per element 0 or 1/(1-p) for the last training forward.
    private let mask = Tensor(shape: [0])
    private var masked = false

    package init(probability: Float, layerId: UInt64) {
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) outside [0, 1)")
        self.probability = probability
        self.layerId = layerId
    }

    /// `x` is [N, ...] holding global samples firstSample ..< firstSample + N of this step's global batch.
    package func forward(_ x: Tensor, seed: UInt64, step: Int, firstSample: Int, training: Bool) -> Tensor {
        output.resize(like: x)
        masked = training && probability > 0
        guard masked else {
            output.data.update(from: x.data, count: x.count)
            return output
        }
        mask.resize(like: x)
        let samples = x.shape[0], perSample = samples == 0 ? 0 : x.count / samples
        let p = probability, keep = 1 / (1 - probability)
        let src = x.data, dst = output.data, m = mask.data, layerId = layerId
        // Each element's draw depends on its sample and index alone, so the pieces (a sample's elements, 8192 at
        // a time) may go to any thread.
        let span = 8192, piecesPerSample = (perSample + span - 1) / span
        ThreadPool.shared.run(pieces: samples * piecesPerSample) { piece, _ in
            let s = piece / piecesPerSample, first = piece % piecesPerSample * span
            let end = min(perSample, first + span)
            let random = CounterRandom(
                seed: seed, purpose: .dropout, keys: [layerId, UInt64(step), UInt64(firstSample + s)])
            let base = s * perSample
            // One Philox block gives the words of four consecutive indices, word(e) = block(e / 4)'s word e % 4,
            // and `blocks` draws eight blocks, the words of 32 indices, at a time (in block-major lanes).
            var e = first
            while e < end {
                let scales = Dropout.scales(random.blocks(UInt64(e >> 2)), probability: p, keep: keep)
                let count = min(32, end - e)
                func apply(_ scale: VectorMath.Vector, chunk: Int) {
                    guard 8 * chunk < count else { return }
                    let start = base + e + 8 * chunk, lanes = min(8, count - 8 * chunk)
                    if lanes == 8 {
                        VectorMath.store(scale, m + start)
                        VectorMath.store(VectorMath.load(src + start) * scale, dst + start)
                    } else {
                        for i in 0..<lanes {
                            m[start + i] = scale[i]
                            dst[start + i] = src[start + i] * scale[i]
                        }
                    }
                }
                apply(scales.0, chunk: 0)
                apply(scales.1, chunk: 1)
                apply(scales.2, chunk: 2)
                apply(scales.3, chunk: 3)
                e += 32
            }
        }
        return output
    }

    /// The 32 scales (0 or `keep`) of eight Philox blocks, in index order: four vectors of eight consecutive
    /// indices, interleaved from `blocks`' word-major lanes (lane b of words.k is index 4b + k).
    @inline(__always)
    static func scales(
        _ words: (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>), probability p: Float, keep: Float
    ) -> (VectorMath.Vector, VectorMath.Vector, VectorMath.Vector, VectorMath.Vector) {
        func scale(_ word: SIMD8<UInt32>) -> VectorMath.Vector {
            // 24 random bits, exact in fp32, as CounterRandom.uniform draws them.
            let u = VectorMath.Vector(SIMD8<Int32>(truncatingIfNeeded: word &>> 8)) * (1.0 / 16_777_216.0)
            return VectorMath.Vector(repeating: keep).replacing(with: 0, where: u .< p)
        }
        func interleave(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> VectorMath.Vector {
            var result = VectorMath.Vector()
            result.evenHalf = a
            result.oddHalf = b
            return result
        }
        let s0 = scale(words.0), s1 = scale(words.1), s2 = scale(words.2), s3 = scale(words.3)
        let low02 = interleave(s0.lowHalf, s2.lowHalf), low13 = interleave(s1.lowHalf, s3.lowHalf)
        let high02 = interleave(s0.highHalf, s2.highHalf), high13 = interleave(s1.highHalf, s3.highHalf)
        return (
            interleave(low02.lowHalf, low13.lowHalf), interleave(low02.highHalf, low13.highHalf),
            interleave(high02.lowHalf, high13.lowHalf), interleave(high02.highHalf, high13.highHalf)
        )
    }

    /// Hands back the mask and the output until the next forward, for a caller that runs the forward again
    /// before backward.
    package func releaseSaved() {
        mask.release()
        output.release()
    }

    package func backward(_ dOutput: Tensor) -> Tensor {
        precondition(dOutput.count == output.count, "gradient \(dOutput.shape) for output \(output.shape)")
        inputGradient.resize(like: output)
        let dy = dOutput.data, dx = inputGradient.data
        if masked {
            let m = mask.data
            ThreadPool.shared.forEachRange(count: output.count) { range, _ in
                for i in range { dx[i] = dy[i] * m[i] }
            }
        } else {
            dx.update(from: dy, count: output.count)
        }
        return inputGradient
    }
}
