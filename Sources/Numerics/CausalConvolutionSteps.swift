/// A causal convolution one output row or one output position at a time, for incremental sampling
/// (Ramachandran et al. 2017, "Fast Generation for Convolutional Autoregressive Models"): the caller keeps the
/// few input rows or columns the kernel still reads, and each output is computed once, from those alone.
///
/// Both steps gather the patch the kernel reads (im2col of the one row or position) and run one GEMM on the
/// convolution's own weight and bias, so their results equal the full-map forward's at the same place up to
/// summation order.
package final class CausalConvolutionSteps {
    package let convolution: CausalConv2D
    private let output = Tensor(shape: [0])
    private let columns = Tensor(shape: [0])

    package init(_ convolution: CausalConv2D) {
        precondition(convolution.convolution.strideY == 1 && convolution.convolution.strideX == 1)
        self.convolution = convolution
    }

    /// Input rows one output row of the vertical stack reads: rows r - kernel/2 ..< r - kernel/2 + windowRows
    /// (mask A: the kernel/2 rows above r; mask B: those and row r).
    package var windowRows: Int { convolution.convolution.kernelHeight }

    /// The vertical stack's output row r, [N, 1, W, outC], from `window` [N, windowRows, W, inC] holding input
    /// rows r - kernel/2 ... in order (zero where a row lies above the map). Owned by the object until the next
    /// call.
    package func forwardRow(window: Tensor) -> Tensor {
        precondition(convolution.stack == .vertical, "a row step of a horizontal stack")
        let conv = convolution.convolution
        let kh = conv.kernelHeight, kw = conv.kernelWidth, inC = conv.inChannels, left = conv.padding.left
        precondition(window.shape.count == 4 && window.h == kh && window.c == inC,
                     "window \(window.shape) for a \(kh)-row kernel over \(inC) channels")
        let batch = window.n, width = window.w, patch = kh * kw * inC
        columns.resize([batch * width, patch])
        let x = window.data, col = columns.data
        for n in 0..<batch {
            for c in 0..<width {
                var out = col + (n * width + c) * patch
                for i in 0..<kh {
                    let inputRow = x + (n * kh + i) * width * inC
                    for j in 0..<kw {
                        let column = c - left + j
                        if column >= 0 && column < width {
                            out.update(from: inputRow + column * inC, count: inC)
                        } else {
                            out.update(repeating: 0, count: inC)
                        }
                        out += inC
                    }
                }
            }
        }
        return multiply(rows: batch * width, shape: [batch, 1, width, conv.outChannels])
    }

    /// The horizontal stack's outputs at column `column`, [N, 1, 1, outC], from `row` [N, 1, W, inC], the input
    /// row (only columns the mask lets the kernel see are read: those before `column`, and `column` itself for
    /// mask B). Owned by the object until the next call.
    package func forwardPosition(row: Tensor, column: Int) -> Tensor {
        precondition(convolution.stack == .horizontal, "a position step of a vertical stack")
        let conv = convolution.convolution
        let kw = conv.kernelWidth, inC = conv.inChannels, left = conv.padding.left
        precondition(row.shape.count == 4 && row.h == 1 && row.c == inC && column >= 0 && column < row.w,
                     "column \(column) of row \(row.shape) over \(inC) channels")
        let batch = row.n, width = row.w, patch = kw * inC
        columns.resize([batch, patch])
        let x = row.data, col = columns.data
        for n in 0..<batch {
            var out = col + n * patch
            for j in 0..<kw {
                let c = column - left + j
                if c >= 0 {
                    out.update(from: x + (n * width + c) * inC, count: inC)
                } else {
                    out.update(repeating: 0, count: inC)
                }
                out += inC
            }
        }
        return multiply(rows: batch, shape: [batch, 1, 1, conv.outChannels])
    }

    /// output = columns W^T + bias.
    private func multiply(rows: Int, shape: [Int]) -> Tensor {
        let conv = convolution.convolution, outC = conv.outChannels
        output.resize(shape)
        if let bias = conv.bias { Bias.fill(output.data, rows: rows, channels: outC, bias: conv.store.value(bias)) }
        BLAS.sgemm(
            transB: true, m: rows, n: outC, k: columns.count / rows, a: columns.data, b: conv.store.value(conv.weight),
            beta: conv.bias == nil ? 0 : 1, c: output.data)
        return output
    }
}
