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
/// Cost: all samples of a batch advance together, and the bottom prior's conditioning stack runs once per batch.
/// Without attention (the bottom prior; a top prior with `attentionEvery == 0`) sampling goes by rows: the
/// vertical stacks see only rows above, so once per row r they run on rows 0...r and leave each layer's
/// horizontal bias (link of the vertical pre-activation, class and conditioning terms) at row r; then each
/// position runs only the horizontal stacks and the output stack on the one row r, about a hundredth of the
/// multiply-adds of a full forward on the benchmark's 16x16 bottom map. With attention the horizontal stream of
/// every earlier position is needed (no key/value cache is kept), so each position runs the whole network on
/// rows 0...r (rows below cannot change row r's logits): about half the work of full-map forwards.
///
/// Sampling runs forwards on the priors' layer-owned buffers: do not sample between a training forward and its
/// backward.
package enum PriorSampler {
    /// Top codes [N, H, W], then bottom codes [N, 2H, 2W], for one class label per sample.
    /// `firstSample` is the global index of the first sample (so a batch split over ranks draws what one rank
    /// drawing them all would).
    package static func sample(
        top: TopPrior, bottom: BottomPrior, labels: [Int32], temperature: Float, seed: UInt64, firstSample: Int = 0
    ) -> (top: [Int32], bottom: [Int32]) {
        precondition(bottom.height == 2 * top.height && bottom.width == 2 * top.width,
                     "bottom map \(bottom.height)x\(bottom.width) is not twice the top map \(top.height)x\(top.width)")
        let topCodes = top.sample(labels: labels, temperature: temperature, seed: seed, firstSample: firstSample)
        let bottomCodes = bottom.sample(
            topCodes: topCodes, labels: labels, temperature: temperature, seed: seed, firstSample: firstSample)
        return (topCodes, bottomCodes)
    }

    /// Fills a code map [N, H, W] in raster order from `network`, given conditioning [N, H, W, Cc] or nil.
    static func sampleRaster(
        _ network: GatedPixelCNN, height: Int, labels: [Int32], conditioning: Tensor?, temperature: Float,
        seed: UInt64, purpose: RandomPurpose, firstSample: Int
    ) -> [Int32] {
        precondition(temperature >= 0 && temperature.isFinite, "temperature \(temperature) must be finite and >= 0")
        let batch = labels.count, width = network.width, k = network.config.codebookSize, area = height * width
        let streams = (0..<batch).map { CounterRandom(seed: seed, purpose: purpose, keys: [UInt64(firstSample + $0)]) }
        var codes = [Int32](repeating: 0, count: batch * area)
        var prefix: [Int32] = []
        var rowCodes: [Int32] = []
        let conditioningRows = Tensor(shape: [0])
        func gatherPrefix(rows: Int) {
            prefix.removeAll(keepingCapacity: true)
            for n in 0..<batch { prefix.append(contentsOf: codes[(n * area)..<(n * area + rows * width)]) }
        }
        func drawColumn(_ logits: Tensor, row r: Int, column c: Int, rowOffset: Int, rows: Int) {
            for n in 0..<batch {
                codes[n * area + r * width + c] = draw(
                    logits.data + ((n * rows + rowOffset) * width + c) * k, count: k, temperature: temperature,
                    uniform: streams[n].uniform(UInt64(r * width + c)))
            }
        }
        for r in 0..<height {
            let rows = r + 1
            if let conditioning {
                let perSample = conditioning.count / batch, kept = rows * width * conditioning.c
                conditioningRows.resize([batch, rows, width, conditioning.c])
                for n in 0..<batch {
                    (conditioningRows.data + n * kept).update(from: conditioning.data + n * perSample, count: kept)
                }
            }
            let rowConditioning = conditioning == nil ? nil : conditioningRows
            if network.hasAttention {
                for c in 0..<width {
                    gatherPrefix(rows: rows)
                    let logits = network.forward(
                        codes: prefix, labels: labels, batch: batch, rows: rows, conditioning: rowConditioning,
                        dropout: nil)
                    drawColumn(logits, row: r, column: c, rowOffset: r, rows: rows)
                }
            } else {
                gatherPrefix(rows: rows)
                network.prepareRow(
                    codes: prefix, labels: labels, batch: batch, rows: rows, conditioning: rowConditioning)
                for c in 0..<width {
                    rowCodes.removeAll(keepingCapacity: true)
                    for n in 0..<batch {
                        rowCodes.append(contentsOf: codes[(n * area + r * width)..<(n * area + rows * width)])
                    }
                    drawColumn(
                        network.forwardRow(codes: rowCodes, labels: labels, batch: batch), row: r, column: c,
                        rowOffset: 0, rows: 1)
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
    package func sample(labels: [Int32], temperature: Float, seed: UInt64, firstSample: Int = 0) -> [Int32] {
        PriorSampler.sampleRaster(
            network, height: height, labels: labels, conditioning: nil, temperature: temperature, seed: seed,
            purpose: .topSampling, firstSample: firstSample)
    }
}

extension BottomPrior {
    /// Bottom code maps [N, H, W] given top codes [N, H/2, W/2]; the conditioning stack runs once for the batch.
    package func sample(
        topCodes: [Int32], labels: [Int32], temperature: Float, seed: UInt64, firstSample: Int = 0
    ) -> [Int32] {
        let features = conditioningFeatures(topCodes: topCodes, batch: labels.count)
        return PriorSampler.sampleRaster(
            network, height: height, labels: labels, conditioning: features, temperature: temperature, seed: seed,
            purpose: .bottomSampling, firstSample: firstSample)
    }
}
