#if canImport(Glibc)
import Glibc
#endif
import Numerics

/// Ancestral sampling of a gated PixelCNN that computes every layer's output at each position exactly once
/// (Ramachandran et al. 2017, "Fast Generation for Convolutional Autoregressive Models").
///
/// The network is causal, so once the codes before a position are drawn everything the position needs is final,
/// and a layer needs only a few rows and columns of its inputs:
/// - once per row r, each layer's vertical stack computes row r alone from a window of its input's last rows
///   (kernel height: the embedded codes of rows r - k/2 ... r - 1 for the first layer, mask A; the previous
///   layer's v' of rows r - k/2 ... r after it, mask B), and the row's horizontal bias (link of v_pre, class and
///   conditioning terms) is formed once;
/// - once per position, each layer's horizontal stack reads its input row (the previous layer's outputs at the
///   columns already done), causal attention reads a key/value cache of the positions before, and the output
///   stack gives the logits the code is drawn from.
/// All samples of the batch advance together, so every matrix product has the batch (or the batch times the
/// width) as its M dimension. Memory: the windows, one row per layer, and the attention caches; no full-map
/// activations.
///
/// The results equal the full-map forward's logits up to summation order (the windows hold the very values the
/// full forward reads); IncrementalSamplerTests check that by teacher forcing. The sampler runs the network's
/// own layers, so it must not run between a training forward and its backward.
final class IncrementalSampler {
    private let network: GatedPixelCNN
    private let vertical: [CausalConvolutionSteps]
    private let horizontal: [CausalConvolutionSteps]
    /// Per layer: the vertical input rows its kernel reads, its horizontal input row, and the row's bias.
    private let windows: [Tensor]
    private let rows: [Tensor]
    private let biases: [Tensor]
    private let caches: [AttentionCache?]
    private let residual = Tensor(shape: [0])
    private let conditioningRow = Tensor(shape: [0])

    init(_ network: GatedPixelCNN) {
        self.network = network
        vertical = network.layers.map { CausalConvolutionSteps($0.verticalConvolution) }
        horizontal = network.layers.map { CausalConvolutionSteps($0.horizontalConvolution) }
        windows = network.layers.map { _ in Tensor(shape: [0]) }
        rows = network.layers.map { _ in Tensor(shape: [0]) }
        biases = network.layers.map { _ in Tensor(shape: [0]) }
        caches = network.attention.map { $0 == nil ? nil : AttentionCache() }
    }

    /// A code map [N, H, W] in raster order, for one label per sample and conditioning [N, H, W, Cc] or nil.
    /// `draw` picks sample n's code from its logits (K values) at raster position p. After every position,
    /// `step(done, total)` runs (with positions done and in all): where a caller reports progress or stops the
    /// sampling by throwing. `observe`, when given, sees the logits [N, 1, 1, K] of every position.
    func sample(
        height: Int, labels: [Int32], conditioning: Tensor?,
        draw: (_ sample: Int, _ position: Int, _ logits: UnsafePointer<Float>) -> Int32,
        step: (_ done: Int, _ total: Int) throws -> Void,
        observe: ((_ position: Int, _ logits: Tensor) -> Void)? = nil
    ) throws -> [Int32] {
        let batch = labels.count, width = network.width, channels = network.config.channels
        let area = height * width, k = network.config.codebookSize
        if let conditioning {
            precondition(conditioning.shape.dropLast() == [batch, height, width],
                         "conditioning \(conditioning.shape) for a \(batch)x\(height)x\(width) map")
        }
        var codes = [Int32](repeating: 0, count: batch * area)
        for (l, window) in windows.enumerated() {
            window.resize([batch, vertical[l].windowRows, width, channels])
            window.zero()
            rows[l].resize([batch, 1, width, channels])
            rows[l].zero()
        }
        for (cache, block) in zip(caches, network.attention) {
            if let cache, let block { cache.reset(batch: batch, positions: area, channels: block.channels) }
        }
        residual.resize([batch, 1, 1, channels])

        for r in 0..<height {
            if let conditioning { copyRow(r, of: conditioning, into: conditioningRow) }
            advanceVerticalStacks(row: r, codes: codes, labels: labels, hasConditioning: conditioning != nil)
            for c in 0..<width {
                let p = r * width + c
                let logits = advanceHorizontalStacks(column: c)
                observe?(p, logits)
                let embedding = rows[0].data
                for n in 0..<batch {
                    let code = draw(n, p, logits.data + n * k)
                    codes[n * area + p] = code
                    (embedding + (n * width + c) * channels).update(
                        from: network.embedding.row(code), count: channels)
                }
                try step(p + 1, area)
            }
        }
        return codes
    }

    /// Row r of every layer's vertical stack, and every layer's horizontal bias for row r.
    private func advanceVerticalStacks(row r: Int, codes: [Int32], labels: [Int32], hasConditioning: Bool) {
        let batch = labels.count, width = network.width, channels = network.config.channels
        let area = codes.count / batch
        // The first layer's window gains the embedded codes of row r - 1 (nothing above the first row).
        shiftUp(windows[0])
        let newest = windows[0].h - 1
        for n in 0..<batch {
            let out = windows[0].data + ((n * windows[0].h + newest) * width) * channels
            for c in 0..<width {
                if r == 0 {
                    (out + c * channels).update(repeating: 0, count: channels)
                } else {
                    (out + c * channels).update(
                        from: network.embedding.row(codes[n * area + (r - 1) * width + c]), count: channels)
                }
            }
        }
        for (l, layer) in network.layers.enumerated() {
            let verticalPre = vertical[l].forwardRow(window: windows[l])
            let output = layer.finishRow(
                verticalPre: verticalPre, labels: labels, conditioningRow: hasConditioning ? conditioningRow : nil,
                bias: biases[l])
            guard l + 1 < windows.count else { continue }
            guard let output else { preconditionFailure("layer \(l) has no vertical output for layer \(l + 1)") }
            // The next layer's window gains v' of row r.
            let next = windows[l + 1]
            shiftUp(next)
            let rowCount = width * channels
            for n in 0..<batch {
                (next.data + (n * next.h + next.h - 1) * rowCount).update(from: output.data + n * rowCount, count: rowCount)
            }
        }
    }

    /// Every layer's horizontal stack (and attention) at column c of the current row; returns the logits there.
    private func advanceHorizontalStacks(column c: Int) -> Tensor {
        let batch = residual.n, width = network.width, channels = network.config.channels
        var h = residual
        for (l, layer) in network.layers.enumerated() {
            let input = rows[l].data
            for n in 0..<batch {
                (residual.data + n * channels).update(from: input + (n * width + c) * channels, count: channels)
            }
            h = layer.finishPosition(
                horizontalPre: horizontal[l].forwardPosition(row: rows[l], column: c), bias: biases[l], column: c,
                residual: residual)
            if let block = network.attention[l], let cache = caches[l] { h = block.forwardStep(h, cache: cache) }
            if l + 1 < rows.count {
                let next = rows[l + 1].data
                for n in 0..<batch {
                    (next + (n * width + c) * channels).update(from: h.data + n * channels, count: channels)
                }
            }
        }
        for (activation, linear) in zip(network.outputActivations, network.outputLayers) {
            h = linear.forward(activation.forward(h))
        }
        return h
    }

    /// Moves a window's rows up by one, dropping the oldest; the last row is then free for the newest.
    private func shiftUp(_ window: Tensor) {
        let rowsPerSample = window.h, rowCount = window.w * window.c
        guard rowsPerSample > 1 else { return }
        for n in 0..<window.n {
            let base = window.data + n * rowsPerSample * rowCount
            memmove(base, base + rowCount, (rowsPerSample - 1) * rowCount * MemoryLayout<Float>.stride)
        }
    }
}

/// out [N, 1, W, C] = x[:, row, :, :] for x [N, H, W, C]: one row of a map, for the samplers.
func copyRow(_ row: Int, of x: Tensor, into out: Tensor) {
    let batch = x.n, height = x.h, rowCount = x.w * x.c
    out.resize([batch, 1, x.w, x.c])
    for n in 0..<batch {
        (out.data + n * rowCount).update(from: x.data + (n * height + row) * rowCount, count: rowCount)
    }
}
