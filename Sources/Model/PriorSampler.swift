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
/// seed, its global index, its class and the temperature, not on the batch it is drawn in (up to BLAS rounding,
/// should OpenBLAS pick other kernels for another batch size: a draw can then change only where its uniform
/// lies within rounding of a step of the CDF).
///
/// Cost: IncrementalSampler computes every layer's output at each position once, all samples of a batch
/// together, and the bottom prior's conditioning stack runs once per batch.
///
/// Sampling runs forwards on the priors' layer-owned buffers: do not sample between a training forward and its
/// backward.
package enum PriorSampler {
    /// Called after every position of either map with the positions done and in all (both maps' together):
    /// where a caller reports progress, and stops the sampling by throwing.
    package typealias PositionStep = (_ done: Int, _ total: Int) throws -> Void

    /// Top codes [N, H, W], then bottom codes [N, 2H, 2W], for one class label per sample. `samples` are the
    /// samples' global indices, which key their random streams (default 0 ..< N), so that samples split over
    /// batches or ranks draw what one batch drawing them all would.
    package static func sample(
        top: TopPrior, bottom: BottomPrior, labels: [Int32], temperature: Float, seed: UInt64, samples: [Int]? = nil,
        step: PositionStep = { _, _ in }
    ) throws -> (top: [Int32], bottom: [Int32]) {
        precondition(bottom.height == 2 * top.height && bottom.width == 2 * top.width,
                     "bottom map \(bottom.height)x\(bottom.width) is not twice the top map \(top.height)x\(top.width)")
        let topArea = top.height * top.width, total = topArea + bottom.height * bottom.width
        let topCodes = try top.sample(
            labels: labels, temperature: temperature, seed: seed, samples: samples,
            step: { done, _ in try step(done, total) })
        let bottomCodes = try bottom.sample(
            topCodes: topCodes, labels: labels, temperature: temperature, seed: seed, samples: samples,
            step: { done, _ in try step(topArea + done, total) })
        return (topCodes, bottomCodes)
    }

    /// Fills a code map [N, H, W] in raster order from `network`, given conditioning [N, H, W, Cc] or nil.
    static func sampleRaster(
        _ network: GatedPixelCNN, height: Int, labels: [Int32], conditioning: Tensor?, temperature: Float,
        seed: UInt64, purpose: RandomPurpose, samples: [Int]?, step: PositionStep,
        observe: ((_ position: Int, _ logits: Tensor) -> Void)? = nil
    ) throws -> [Int32] {
        precondition(temperature >= 0 && temperature.isFinite, "temperature \(temperature) must be finite and >= 0")
        precondition(samples == nil || samples?.count == labels.count, "\(samples?.count ?? 0) indices for \(labels.count) samples")
        let k = network.config.codebookSize
        let streams = (samples ?? Array(labels.indices)).map {
            CounterRandom(seed: seed, purpose: purpose, keys: [UInt64($0)])
        }
        return try IncrementalSampler(network).sample(
            height: height, labels: labels, conditioning: conditioning,
            draw: { n, p, logits in
                draw(logits, count: k, temperature: temperature, uniform: streams[n].uniform(UInt64(p)))
            },
            step: step, observe: observe)
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
    package func sample(
        labels: [Int32], temperature: Float, seed: UInt64, samples: [Int]? = nil,
        step: PriorSampler.PositionStep = { _, _ in }
    ) throws -> [Int32] {
        try PriorSampler.sampleRaster(
            network, height: height, labels: labels, conditioning: nil, temperature: temperature, seed: seed,
            purpose: .topSampling, samples: samples, step: step)
    }
}

extension BottomPrior {
    /// Bottom code maps [N, H, W] given top codes [N, H/2, W/2]; the conditioning stack runs once for the batch.
    package func sample(
        topCodes: [Int32], labels: [Int32], temperature: Float, seed: UInt64, samples: [Int]? = nil,
        step: PriorSampler.PositionStep = { _, _ in }
    ) throws -> [Int32] {
        let features = conditioningFeatures(topCodes: topCodes, batch: labels.count)
        return try PriorSampler.sampleRaster(
            network, height: height, labels: labels, conditioning: features, temperature: temperature, seed: seed,
            purpose: .bottomSampling, samples: samples, step: step)
    }
}
