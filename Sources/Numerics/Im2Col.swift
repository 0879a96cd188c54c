/// Rows or columns added around a convolution's input on each side; a negative value crops that side instead.
///
/// Causal (shifted) convolutions need unequal sides, and cropping lets a kernel that must not see the current
/// row or column stop one short of it.
package struct Padding: Sendable, Equatable {
    package var top: Int
    package var bottom: Int
    package var left: Int
    package var right: Int

    package init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top
        self.bottom = bottom
        self.left = left
        self.right = right
    }

    /// The same padding on all four sides.
    package init(_ all: Int) { self.init(top: all, bottom: all, left: all, right: all) }

    /// `vertical` above and below, `horizontal` left and right.
    package init(vertical: Int, horizontal: Int) {
        self.init(top: vertical, bottom: vertical, left: horizontal, right: horizontal)
    }
}

/// The shape arithmetic of one convolution over an NHWC input, and the im2col matrix it implies.
///
/// Row (n, oh, ow) of the column matrix holds the input patch under the kernel at that output position, laid out
/// [kh, kw, C] to match the weight layout [outC, kh, kw, inC]; positions outside the input read as zero.
struct ConvolutionGeometry {
    let batch: Int
    let inputHeight: Int
    let inputWidth: Int
    let channels: Int
    let kernelHeight: Int
    let kernelWidth: Int
    let strideY: Int
    let strideX: Int
    let padding: Padding

    var outputHeight: Int { (inputHeight + padding.top + padding.bottom - kernelHeight) / strideY + 1 }
    var outputWidth: Int { (inputWidth + padding.left + padding.right - kernelWidth) / strideX + 1 }
    /// Rows of the column matrix: one per output position.
    var rows: Int { batch * outputHeight * outputWidth }
    /// Columns of the column matrix: one per kernel tap and input channel.
    var patchSize: Int { kernelHeight * kernelWidth * channels }

    func validate() {
        precondition(kernelHeight > 0 && kernelWidth > 0 && strideY > 0 && strideX > 0, "bad kernel or stride")
        precondition(
            inputHeight + padding.top + padding.bottom >= kernelHeight
                && inputWidth + padding.left + padding.right >= kernelWidth,
            "input \(inputHeight)x\(inputWidth) with padding \(padding) is smaller than the kernel "
                + "\(kernelHeight)x\(kernelWidth)")
    }

    /// Rows per block of the column matrix, so that a block (about 1 MiB) stays in cache between being gathered
    /// and being read by the GEMM, instead of a whole-batch matrix going out to memory and back; but at least 256,
    /// because every block's GEMM packs the whole weight again, and every block's weight-gradient GEMM reads and
    /// writes its whole partial sum. With the paper's priors (a 3x5 kernel over 512 channels: 7,680 columns, 34 rows to the
    /// MiB, a 31 MB weight) that overhead dominated: one core's sgemm [rows, 7680] x [7680, 1024] ran at 24 GFLOP/s
    /// in blocks of 34 rows, 35 in blocks of 256 and 36.6 in blocks of 512 (30 -> 35 -> 35.7 as the weight
    /// gradient). Blocks beyond the cache-sized one are handed back after each pass (`ThreadBuffers.release`).
    var blockRows: Int { max(256, ConvolutionGeometry.cacheBlockFloats / patchSize) }

    /// Floats in a cache-sized block of the column matrix (1 MiB).
    static let cacheBlockFloats = 1 << 18

    /// Whether a block of `blockRows` rows is larger than the cache-sized one.
    var blockIsOversized: Bool { min(blockRows, rows) * patchSize > ConvolutionGeometry.cacheBlockFloats }

    /// Writes rows `rows` of the column matrix of `input` (this geometry's NHWC input) to `columns`
    /// ([rows.count, patchSize]).
    ///
    /// In NHWC the taps of one kernel row that fall inside the input are one contiguous run of memory, so each
    /// kernel row costs one copy plus zero fills for the parts outside.
    func gather(_ input: UnsafePointer<Float>, rows: Range<Int>, into columns: UnsafeMutablePointer<Float>) {
        let h = inputHeight, w = inputWidth, c = channels, kh = kernelHeight, kw = kernelWidth
        let oh = outputHeight, ow = outputWidth, sy = strideY, sx = strideX
        let top = padding.top, left = padding.left
        let rowLength = kw * c
        var destination = columns
        // Counters instead of dividing the row index: a division per row is a visible cost when rows are short.
        var n = rows.lowerBound / (oh * ow), y = rows.lowerBound / ow % oh, x = rows.lowerBound % ow
        for _ in rows {
            defer {
                x += 1
                if x == ow { x = 0; y += 1; if y == oh { y = 0; n += 1 } }
            }
            let image = input + n * h * w * c
            let x0 = x * sx - left
            let first = max(0, -x0), end = min(kw, w - x0)
            for i in 0..<kh {
                let row = destination + i * rowLength
                let yi = y * sy - top + i
                if yi < 0 || yi >= h || first >= end {
                    row.update(repeating: 0, count: rowLength)
                    continue
                }
                if first > 0 { row.update(repeating: 0, count: first * c) }
                (row + first * c).update(from: image + (yi * w + x0 + first) * c, count: (end - first) * c)
                if end < kw { (row + end * c).update(repeating: 0, count: (kw - end) * c) }
            }
            destination += kh * rowLength
        }
    }

    /// Adds rows `rows` of a column matrix (`columns`, [rows.count, patchSize]) into the input positions they
    /// were gathered from: the adjoint of `gather`. `input` is accumulated into, not overwritten.
    func scatterAdd(_ columns: UnsafePointer<Float>, rows: Range<Int>, into input: UnsafeMutablePointer<Float>) {
        let h = inputHeight, w = inputWidth, c = channels, kh = kernelHeight, kw = kernelWidth
        let oh = outputHeight, ow = outputWidth, sy = strideY, sx = strideX
        let top = padding.top, left = padding.left
        let rowLength = kw * c, kernels = VectorKernels.active
        var source = columns
        var n = rows.lowerBound / (oh * ow), y = rows.lowerBound / ow % oh, x = rows.lowerBound % ow
        for _ in rows {
            defer {
                x += 1
                if x == ow { x = 0; y += 1; if y == oh { y = 0; n += 1 } }
            }
            let image = input + n * h * w * c
            let x0 = x * sx - left
            let first = max(0, -x0), end = min(kw, w - x0)
            for i in 0..<kh {
                let yi = y * sy - top + i
                if yi < 0 || yi >= h || first >= end { continue }
                kernels.add(
                    source + i * rowLength + first * c, into: image + (yi * w + x0 + first) * c,
                    count: (end - first) * c)
            }
            source += kh * rowLength
        }
    }
}

/// Shared pieces of the convolution layers' bias handling.
enum Bias {
    /// Sets each of the `rows` rows of `output` ([rows, channels]) to `bias`, so a GEMM can accumulate onto it.
    ///
    /// Copies from the already filled front in doubling runs: a copy per row costs more than the row itself
    /// when there are few channels.
    static func fill(_ output: UnsafeMutablePointer<Float>, rows: Int, channels: Int, bias: UnsafePointer<Float>) {
        ThreadPool.shared.forEachRange(count: rows, grain: max(1, 16_384 / max(channels, 1))) { range, _ in
            let front = output + range.lowerBound * channels
            front.update(from: bias, count: channels)
            var filled = 1
            while filled < range.count {
                let run = min(filled, range.count - filled)
                (front + filled * channels).update(from: front, count: run * channels)
                filled += run
            }
        }
    }

    /// Accumulates the column sums of `gradient` ([rows, channels]) into `biasGradient`.
    static func accumulateGradient(
        _ gradient: UnsafePointer<Float>, rows: Int, channels: Int, into biasGradient: UnsafeMutablePointer<Float>
    ) {
        // Split over channels, each summed over the rows in order as on one thread.
        let kernels = VectorKernels.active
        ThreadPool.shared.forEachRange(count: channels, grain: 16) { part, _ in
            for r in 0..<rows {
                kernels.add(
                    gradient + r * channels + part.lowerBound, into: biasGradient + part.lowerBound, count: part.count)
            }
        }
    }
}
