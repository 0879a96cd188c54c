import Numerics

/// The sampler this project had before IncrementalSampler, kept as the benchmark's baseline
/// (`vqvae2-bench sample`): it recomputes most of the network for every position.
///
/// With attention, each position runs the whole network on rows 0...r (rows below cannot change row r's logits).
/// Without, once per row r the vertical stacks run on rows 0...r and leave each layer's horizontal bias at row r,
/// then each position runs the horizontal stacks and the output stack on the whole row r. It draws the same codes
/// as IncrementalSampler up to rounding (the same streams, the same logits). `rows` stops after that many rows of
/// each map, so that a benchmark can time the first rows of a map too slow to finish.
package enum RecomputingSampler {
    /// Top codes [N, H, W], then bottom codes [N, 2H, 2W] (see PriorSampler); with `rows`, only the first `rows`
    /// rows of each map are drawn (the rest stay 0). `rowDone` is called after each row of each map.
    package static func sample(
        top: TopPrior, bottom: BottomPrior, labels: [Int32], temperature: Float, seed: UInt64, rows: Int? = nil,
        rowDone: (_ level: VQVAELevel, _ row: Int) -> Void = { _, _ in }
    ) -> (top: [Int32], bottom: [Int32]) {
        let topCodes = sampleRaster(
            top.network, height: top.height, rows: rows, labels: labels, conditioning: nil, temperature: temperature,
            seed: seed, purpose: .topSampling, rowDone: { rowDone(.top, $0) })
        let features = bottom.conditioningFeatures(topCodes: topCodes, batch: labels.count)
        let bottomCodes = sampleRaster(
            bottom.network, height: bottom.height, rows: rows, labels: labels, conditioning: features,
            temperature: temperature, seed: seed, purpose: .bottomSampling, rowDone: { rowDone(.bottom, $0) })
        return (topCodes, bottomCodes)
    }

    private static func sampleRaster(
        _ network: GatedPixelCNN, height: Int, rows limit: Int?, labels: [Int32], conditioning: Tensor?,
        temperature: Float, seed: UInt64, purpose: RandomPurpose, rowDone: (Int) -> Void
    ) -> [Int32] {
        let batch = labels.count, width = network.width, k = network.config.codebookSize, area = height * width
        let streams = (0..<batch).map { CounterRandom(seed: seed, purpose: purpose, keys: [UInt64($0)]) }
        let hasAttention = network.attention.contains { $0 != nil }
        let rowState = RowState(network)
        var codes = [Int32](repeating: 0, count: batch * area)
        var prefix: [Int32] = [], rowCodes: [Int32] = []
        let conditioningRows = Tensor(shape: [0])
        func gatherPrefix(rows: Int) {
            prefix.removeAll(keepingCapacity: true)
            for n in 0..<batch { prefix.append(contentsOf: codes[(n * area)..<(n * area + rows * width)]) }
        }
        func drawColumn(_ logits: Tensor, row r: Int, column c: Int, rowOffset: Int, rows: Int) {
            for n in 0..<batch {
                codes[n * area + r * width + c] = PriorSampler.draw(
                    logits.data + ((n * rows + rowOffset) * width + c) * k, count: k, temperature: temperature,
                    uniform: streams[n].uniform(UInt64(r * width + c)))
            }
        }
        for r in 0..<min(height, limit ?? height) {
            let rows = r + 1
            if let conditioning {
                let perSample = conditioning.count / batch, kept = rows * width * conditioning.c
                conditioningRows.resize([batch, rows, width, conditioning.c])
                for n in 0..<batch {
                    (conditioningRows.data + n * kept).update(from: conditioning.data + n * perSample, count: kept)
                }
            }
            let rowConditioning = conditioning == nil ? nil : conditioningRows
            if hasAttention {
                for c in 0..<width {
                    gatherPrefix(rows: rows)
                    let logits = network.forward(
                        codes: prefix, labels: labels, batch: batch, rows: rows, conditioning: rowConditioning,
                        dropout: nil)
                    drawColumn(logits, row: r, column: c, rowOffset: r, rows: rows)
                }
            } else {
                gatherPrefix(rows: rows)
                rowState.prepare(codes: prefix, labels: labels, batch: batch, rows: rows, conditioning: rowConditioning)
                for c in 0..<width {
                    rowCodes.removeAll(keepingCapacity: true)
                    for n in 0..<batch {
                        rowCodes.append(contentsOf: codes[(n * area + r * width)..<(n * area + rows * width)])
                    }
                    drawColumn(rowState.logits(codes: rowCodes, batch: batch), row: r, column: c, rowOffset: 0, rows: 1)
                }
            }
            rowDone(r)
        }
        return codes
    }

    /// Sampling by rows: each layer's horizontal bias at the current row, from the vertical stacks run on every
    /// row so far.
    private final class RowState {
        let network: GatedPixelCNN
        let biases: [Tensor]
        let verticalPreRow = Tensor(shape: [0])
        let conditioningRow = Tensor(shape: [0])

        init(_ network: GatedPixelCNN) {
            self.network = network
            biases = network.layers.map { _ in Tensor(shape: [0]) }
        }

        /// Runs the vertical stacks on codes [N, rows, W] and keeps every layer's horizontal bias at the last row.
        func prepare(codes: [Int32], labels: [Int32], batch: Int, rows: Int, conditioning: Tensor?) {
            var v = network.embedding.forward(codes, shape: [batch, rows, network.width])
            if let conditioning { copyRow(rows - 1, of: conditioning, into: conditioningRow) }
            for (layer, bias) in zip(network.layers, biases) {
                let vertical = layer.finishVertical(
                    layer.verticalConvolution.forward(v), labels: labels, conditioning: conditioning)
                copyRow(rows - 1, of: vertical.pre, into: verticalPreRow)
                layer.writeHorizontalBias(
                    verticalPre: verticalPreRow, labels: labels,
                    conditioning: conditioning == nil ? nil : conditioningRow, into: bias)
                if let output = vertical.output { v = output }
            }
        }

        /// Logits [N, 1, W, K] of the prepared row from its codes [N, 1, W].
        func logits(codes: [Int32], batch: Int) -> Tensor {
            var h = network.embedding.forward(codes, shape: [batch, 1, network.width])
            for (layer, bias) in zip(network.layers, biases) {
                let pre = layer.horizontalConvolution.forward(h)
                ResidualAdd.accumulate(bias, into: pre)
                h = layer.finishHorizontal(pre, residual: layer.isFirst ? nil : h, dropout: nil)
            }
            for (activation, linear) in zip(network.outputActivations, network.outputLayers) {
                h = linear.forward(activation.forward(h))
            }
            return h
        }
    }
}
