/// Inverted dropout: in training each element is zeroed with probability p and the survivors scaled by 1/(1-p);
/// at evaluation and sampling the layer is the identity.
///
/// The mask of element e of global sample s is drawn at index e of the counter-based stream keyed by
/// (seed, dropoutDomain, layerId, step, s), so it does not depend on how samples are spread over ranks or on
/// what any other layer drew.
public final class Dropout {
    /// The stream key that separates dropout masks from every other use of the counter-based generator.
    public static let dropoutDomain: UInt64 = 0xD209_0017

    public let probability: Float
    public let layerId: UInt64
    public let output = Tensor(shape: [0])
    public let inputGradient = Tensor(shape: [0])
    /// Per element 0 or 1/(1-p) for the last training forward.
    private let mask = Tensor(shape: [0])
    private var masked = false

    public init(probability: Float, layerId: UInt64) {
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) outside [0, 1)")
        self.probability = probability
        self.layerId = layerId
    }

    /// `x` is [N, ...] holding global samples firstSample ..< firstSample + N of this step's global batch.
    public func forward(_ x: Tensor, seed: UInt64, step: Int, firstSample: Int, training: Bool) -> Tensor {
        output.resize(like: x)
        masked = training && probability > 0
        guard masked else {
            output.data.update(from: x.data, count: x.count)
            return output
        }
        mask.resize(like: x)
        let samples = x.shape[0], perSample = samples == 0 ? 0 : x.count / samples
        let p = probability, keep = 1 / (1 - probability)
        let src = x.data, dst = output.data, m = mask.data
        for s in 0..<samples {
            let random = CounterRandom(
                seed: seed, keys: [Dropout.dropoutDomain, layerId, UInt64(step), UInt64(firstSample + s)])
            let base = s * perSample
            // One Philox block gives the words of four consecutive indices, word(e) = block(e / 4)'s word e % 4,
            // and `blocks` draws eight blocks, the words of 32 indices, at a time.
            var e = 0
            while e < perSample {
                let b = random.blocks(UInt64(e >> 2))
                for i in 0..<min(32, perSample - e) {
                    let lane = i >> 2
                    let word = switch i & 3 {
                    case 0: b.0[lane]
                    case 1: b.1[lane]
                    case 2: b.2[lane]
                    default: b.3[lane]
                    }
                    let u = Float(word >> 8) * (1.0 / 16_777_216.0)
                    let scale: Float = u < p ? 0 : keep
                    m[base + e + i] = scale
                    dst[base + e + i] = src[base + e + i] * scale
                }
                e += 32
            }
        }
        return output
    }

    public func backward(_ dOutput: Tensor) -> Tensor {
        precondition(dOutput.count == output.count, "gradient \(dOutput.shape) for output \(output.shape)")
        inputGradient.resize(like: output)
        let dy = dOutput.data, dx = inputGradient.data
        if masked {
            let m = mask.data
            for i in 0..<output.count { dx[i] = dy[i] * m[i] }
        } else {
            dx.update(from: dy, count: output.count)
        }
        return inputGradient
    }
}
