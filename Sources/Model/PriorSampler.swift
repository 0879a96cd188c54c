#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Numerics

/// Ancestral sampling from the priors: z_top ~ p(z_top | class), then z_bottom ~ p(z_bottom | z_top, class), each
/// in raster order; decoding the codes to images is the VQ-VAE's job.
///
/// Determinism: the draw at position p of global sample s uses uniform number p of the counter-based stream keyed
/// by (seed, level, s), and every sample's logits are computed from that sample alone, so a sample depends on the
/// seed, its global index, its class and the temperature, not on the batch it is drawn in.
///
/// Cost: all samples of a batch advance together, one network forward per position. Each forward runs only on
/// rows 0...r of the current row r (the networks are causal in rows, so rows below cannot change row r's
/// logits), which halves the work of full-map forwards; the bottom prior's conditioning stack runs once per
/// batch and each forward reads the first r + 1 rows of its output. Columns are not cached between forwards
/// (a forward recomputes rows above the current one), which is where a faster sampler would save next.
///
/// Sampling runs forwards on the priors' layer-owned buffers: do not sample between a training forward and its
/// backward.
public enum PriorSampler {
    /// Top codes [N, H, W], then bottom codes [N, 2H, 2W], for one class label per sample.
    /// `firstSample` is the global index of the first sample (so a batch split over ranks draws what one rank
    /// drawing them all would).
    public static func sample(
        top: TopPrior, bottom: BottomPrior, labels: [Int32], temperature: Float, seed: UInt64, firstSample: Int = 0
    ) -> (top: [Int32], bottom: [Int32]) {
        precondition(bottom.height == 2 * top.height && bottom.width == 2 * top.width,
                     "bottom map \(bottom.height)x\(bottom.width) is not twice the top map \(top.height)x\(top.width)")
        let topCodes = top.sample(labels: labels, temperature: temperature, seed: seed, firstSample: firstSample)
        let bottomCodes = bottom.sample(
            topCodes: topCodes, labels: labels, temperature: temperature, seed: seed, firstSample: firstSample)
        return (topCodes, bottomCodes)
    }

    /// Stream keys separating sampling from every other use of the counter-based generator, per level.
    static let topStream: UInt64 = 0x5A3F_0001
    static let bottomStream: UInt64 = 0x5A3F_0002

    /// Fills a code map [N, H, W] in raster order from `network`, given conditioning [N, H, W, Cc] or nil.
    static func sampleRaster(
        _ network: GatedPixelCNN, height: Int, labels: [Int32], conditioning: Tensor?, temperature: Float,
        seed: UInt64, stream: UInt64, firstSample: Int
    ) -> [Int32] {
        precondition(temperature >= 0 && temperature.isFinite, "temperature \(temperature) must be finite and >= 0")
        let batch = labels.count, width = network.width, k = network.config.codebookSize
        let streams = (0..<batch).map { CounterRandom(seed: seed, keys: [stream, UInt64(firstSample + $0)]) }
        var codes = [Int32](repeating: 0, count: batch * height * width)
        var prefix: [Int32] = []
        let conditioningRows = Tensor(shape: [0])
        for r in 0..<height {
            let rows = r + 1
            if let conditioning {
                let perSample = conditioning.count / batch, kept = rows * width * conditioning.c
                conditioningRows.resize([batch, rows, width, conditioning.c])
                for n in 0..<batch {
                    (conditioningRows.data + n * kept).update(from: conditioning.data + n * perSample, count: kept)
                }
            }
            for c in 0..<width {
                prefix.removeAll(keepingCapacity: true)
                for n in 0..<batch {
                    prefix.append(contentsOf: codes[(n * height * width)..<(n * height * width + rows * width)])
                }
                let logits = network.forward(
                    codes: prefix, labels: labels, batch: batch, rows: rows,
                    conditioning: conditioning == nil ? nil : conditioningRows, dropout: nil)
                let position = r * width + c
                for n in 0..<batch {
                    codes[n * height * width + position] = draw(
                        logits.data + ((n * rows + r) * width + c) * k, count: k, temperature: temperature,
                        uniform: streams[n].uniform(UInt64(position)))
                }
            }
        }
        return codes
    }

    /// A code from softmax(logits / temperature) by inverting the CDF at `uniform`; temperature 0 takes the
    /// arg max (the first, on ties).
    static func draw(_ logits: UnsafePointer<Float>, count k: Int, temperature: Float, uniform: Float) -> Int32 {
        var best = 0
        for j in 1..<k where logits[j] > logits[best] { best = j }
        if temperature == 0 { return Int32(best) }
        let largest = Double(logits[best]), inverse = 1 / Double(temperature)
        var total = 0.0
        for j in 0..<k { total += exp((Double(logits[j]) - largest) * inverse) }
        let target = Double(uniform) * total
        var cumulative = 0.0
        for j in 0..<k {
            cumulative += exp((Double(logits[j]) - largest) * inverse)
            if cumulative > target { return Int32(j) }
        }
        // Rounding left the target at the very top of the CDF.
        return Int32(best)
    }
}

extension TopPrior {
    /// Top code maps [N, H, W] for one class label per sample (see PriorSampler for determinism and cost).
    public func sample(labels: [Int32], temperature: Float, seed: UInt64, firstSample: Int = 0) -> [Int32] {
        PriorSampler.sampleRaster(
            network, height: height, labels: labels, conditioning: nil, temperature: temperature, seed: seed,
            stream: PriorSampler.topStream, firstSample: firstSample)
    }
}

extension BottomPrior {
    /// Bottom code maps [N, H, W] given top codes [N, H/2, W/2]; the conditioning stack runs once for the batch.
    public func sample(
        topCodes: [Int32], labels: [Int32], temperature: Float, seed: UInt64, firstSample: Int = 0
    ) -> [Int32] {
        let features = conditioningFeatures(topCodes: topCodes, batch: labels.count)
        return PriorSampler.sampleRaster(
            network, height: height, labels: labels, conditioning: features, temperature: temperature, seed: seed,
            stream: PriorSampler.bottomStream, firstSample: firstSample)
    }
}
