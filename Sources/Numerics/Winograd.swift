/// Winograd convolution (Lavin & Gray 2015) for stride-1 NHWC convolutions with a kernel 3 wide and 3 or 2 high
/// whose padding keeps the input's size: F(2x2, 3x3) for the VQ-VAE's 3x3 layers, F(2x2, 2x3) for the gated
/// PixelCNN's vertical stack (kernel 2x3, padding top 1, bottom 0).
///
/// Each 2x2 block of outputs ("tile") is read from an R x 4 input patch d, R = kh + 1. Along the width the
/// transforms are F(2, 3)'s, along the height F(2, 3)'s for kh 3 and F(2, 2)'s for kh 2, so a tile has 4R
/// elementwise positions ("P": 16 or 12). With V = B^T d B per patch and U = G g G^T per kernel slice, the tile is
/// A^T (U . V) A, where "." is elementwise over the positions and a matrix product over channels: P GEMMs of
/// [tiles, inC] x [inC, outC] do 2.25x (3x3) or 2x (2x3) fewer multiply-adds than the im2col GEMM
/// [outputs, 3 kh inC] x [3 kh inC, outC]. Tiles go through in cache-sized blocks (input transform, P GEMMs, output
/// transform), as the im2col path does with its column blocks. The input gradient is the same computation with the
/// flipped kernel and mirrored padding; the weight gradient accumulates dU = V^T (A dY A^T) by P GEMMs and maps it
/// back with G^T dU G. The patch and tile transforms only add and subtract (F(2, 3)'s halves apply to the kernel
/// side, F(2, 2) has none), so fp32 rounding stays close to the direct sum's.
final class WinogradConvolution {
    /// The kernel height, 3 or 2 (the width is 3).
    private let kernelHeight: Int
    /// The forward convolution's padding above (y) and left (x) of the input.
    private let padding: (y: Int, x: Int)
    /// U: the transformed kernel, [P][K][N] for a convolution from K channels to N.
    private let kernel = Tensor(shape: [0])
    /// dU, the kernel gradient in the transformed domain: one [P][K][N] per group of blocks (`gradientGroups`).
    private let kernelGradient = Tensor(shape: [0])
    /// Read in place of input positions in the padding, and the bias of a convolution without one.
    private let zeros = Tensor(shape: [0])
    /// Each thread's buffers for the blocks it transforms.
    private var scratch: [WinogradScratch] = []
    private var inChannels = 0
    private var outChannels = 0
    /// Where the current patches start relative to their tiles: the padding of the convolution being computed
    /// (the forward's, or the adjoint's mirror image kh - 1 - top, 2 - left).
    private var origin = (y: 0, x: 0)

    /// Whether a convolution of this shape runs here: stride 1, kernel 3 wide and 3 or 2 high, and a padding
    /// that keeps the input's size.
    static func supports(kernelHeight kh: Int, kernelWidth kw: Int, strideY: Int, strideX: Int, padding: Padding)
        -> Bool
    {
        strideY == 1 && strideX == 1 && kw == 3 && (kh == 2 || kh == 3)
            && min(padding.top, padding.bottom, padding.left, padding.right) >= 0
            && padding.top + padding.bottom == kh - 1 && padding.left + padding.right == kw - 1
    }

    /// For a convolution of that shape (`supports` must hold; only the top and left padding are kept).
    init(kernelHeight: Int, padding: Padding) {
        precondition(kernelHeight == 2 || kernelHeight == 3, "Winograd kernel height \(kernelHeight)")
        self.kernelHeight = kernelHeight
        self.padding = (padding.top, padding.left)
    }

    /// Patch rows R = kh + 1, and elementwise positions P = 4R per tile.
    private var patchRows: Int { kernelHeight + 1 }
    private var positions: Int { 4 * patchRows }

    /// Transforms a kernel [outC, kh, 3, inC] for the convolution itself (`adjoint` false: inC -> outC), or for
    /// its input gradient (`adjoint` true: outC -> inC with the kernel flipped and the padding mirrored, the
    /// stride-1 adjoint).
    func setKernel(_ weight: UnsafePointer<Float>, outChannels outC: Int, inChannels inC: Int, adjoint: Bool) {
        inChannels = adjoint ? outC : inC
        outChannels = adjoint ? inC : outC
        let kh = kernelHeight
        origin = adjoint ? (kh - 1 - padding.y, 2 - padding.x) : padding
        let k = inChannels, n = outChannels
        kernel.resize([positions, k, n])
        let u = kernel.data
        ThreadPool.shared.forEachRange(count: outC, grain: max(1, 4096 / inC)) { outputs, _ in
            for o in outputs {
                for c in 0..<inC {
                    // g[i][j] = w[o, i, j, c], or w[o, kh - 1 - i, 2 - j, c] flipped.
                    func g(_ i: Int, _ j: Int) -> Float {
                        adjoint
                            ? weight[((o * kh + kh - 1 - i) * 3 + 2 - j) * inC + c]
                            : weight[((o * kh + i) * 3 + j) * inC + c]
                    }
                    let destination = u + (adjoint ? o * n + c : c * n + o)
                    // G along each kernel column, then G along each row of the result (F(2, 3)'s G^T).
                    func put(_ i: Int, _ row: (Float, Float, Float)) {
                        let transformed = F23.kernel(row)
                        destination[(4 * i) * k * n] = transformed.0
                        destination[(4 * i + 1) * k * n] = transformed.1
                        destination[(4 * i + 2) * k * n] = transformed.2
                        destination[(4 * i + 3) * k * n] = transformed.3
                    }
                    if kh == 3 {
                        let c0 = F23.kernel((g(0, 0), g(1, 0), g(2, 0)))
                        let c1 = F23.kernel((g(0, 1), g(1, 1), g(2, 1)))
                        let c2 = F23.kernel((g(0, 2), g(1, 2), g(2, 2)))
                        put(0, (c0.0, c1.0, c2.0))
                        put(1, (c0.1, c1.1, c2.1))
                        put(2, (c0.2, c1.2, c2.2))
                        put(3, (c0.3, c1.3, c2.3))
                    } else {
                        let c0 = F22.kernel((g(0, 0), g(1, 0)))
                        let c1 = F22.kernel((g(0, 1), g(1, 1)))
                        let c2 = F22.kernel((g(0, 2), g(1, 2)))
                        put(0, (c0.0, c1.0, c2.0))
                        put(1, (c0.1, c1.1, c2.1))
                        put(2, (c0.2, c1.2, c2.2))
                    }
                }
            }
        }
    }

    /// Sizes every thread's block buffers (V and U . V, each position `positionSkew` floats further apart) and
    /// the zero row for the current channel counts; returns the tiles per block and the two position strides.
    private func prepareBlocks() -> (block: Int, vStride: Int, mStride: Int) {
        let k = inChannels, n = outChannels, block = tileBlock
        let vStride = block * k + positionSkew, mStride = block * n + positionSkew
        while scratch.count < ThreadPool.shared.threadCount { scratch.append(WinogradScratch()) }
        for buffers in scratch.prefix(ThreadPool.shared.threadCount) {
            buffers.transformedInput.resize([positions, vStride])
            buffers.products.resize([positions, mStride])
            buffers.discard.resize([n])
        }
        zeros.resize([max(k, n)])
        zeros.zero()
        return (block, vStride, mStride)
    }

    /// output[N, H, W, outC] = the convolution of input[N, H, W, inC] with the kernel last set (+ bias).
    /// Blocks of tiles are independent, so each goes whole to one thread.
    func convolve(
        _ input: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int, bias: UnsafePointer<Float>?,
        into output: UnsafeMutablePointer<Float>
    ) {
        let k = inChannels, n = outChannels, p = positions
        let tilesY = (h + 1) / 2, tilesX = (w + 1) / 2, tiles = batch * tilesY * tilesX
        let (block, vStride, mStride) = prepareBlocks()
        let u = UnsafePointer(kernel.data)
        let biasRow = bias ?? UnsafePointer(zeros.data)
        let tall = kernelHeight == 3, kernels = VectorKernels.active
        ThreadPool.shared.run(pieces: (tiles + block - 1) / block) { piece, thread in
            let buffers = scratch[thread]
            let start = piece * block, count = min(block, tiles - start)
            let v = buffers.transformedInput.data, m = buffers.products.data, outputRows = buffers.outputRows
            transformInputBlock(input, height: h, width: w, tiles: start..<start + count, stride: vStride, buffers)
            for xi in 0..<p {
                BLAS.sgemm(m: count, n: n, k: k, a: v + xi * vStride, b: u + xi * k * n, c: m + xi * mStride)
            }
            // Output transform: the tile's 2x2 outputs are A^T M A (+ bias).
            var image = start / (tilesY * tilesX), ty = start / tilesX % tilesY, tx = start % tilesX
            for t in 0..<count {
                let target = output + image * h * w * n
                for r in 0..<2 {
                    for s in 0..<2 {
                        let y = 2 * ty + r, x = 2 * tx + s
                        outputRows[r * 2 + s] = y < h && x < w ? target + (y * w + x) * n : buffers.discard.data
                    }
                }
                kernels.winogradOutput(
                    m + t * n, stride: mStride, bias: biasRow, outputs: outputRows, tall: tall, channels: n)
                tx += 1
                if tx == tilesX { tx = 0; ty += 1; if ty == tilesY { ty = 0; image += 1 } }
            }
        }
        // U is set again before the next convolve; holding it in every layer of three models cost about 60 MiB.
        kernel.release()
    }

    /// Groups of blocks whose kernel gradients are summed apart and then added in group order: the groups depend
    /// on the tile count alone, so up to this many threads share the pass with the same result as one.
    static let gradientGroups = 8

    /// Accumulates (+=) the gradient of the kernel [outC, kh, 3, inC] of the convolution of input[N, H, W, inC]
    /// whose output gradient is dOutput[N, H, W, outC]: dU[xi] = sum over tiles of V^T (A dY A^T), then
    /// dW += G^T dU G, so the big products are again P GEMMs with im2col's multiply-adds over 2.25 or 2.
    func accumulateKernelGradient(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int,
        inChannels inC: Int, outChannels outC: Int, into weightGradient: UnsafeMutablePointer<Float>
    ) {
        inChannels = inC
        outChannels = outC
        origin = padding
        let k = inC, n = outC, p = positions, kh = kernelHeight
        let tilesY = (h + 1) / 2, tilesX = (w + 1) / 2, tiles = batch * tilesY * tilesX
        let (block, vStride, mStride) = prepareBlocks()
        let blocks = (tiles + block - 1) / block, groups = min(blocks, WinogradConvolution.gradientGroups)
        let partSize = p * k * n
        kernelGradient.resize([groups, partSize])
        kernelGradient.zero()
        let tall = kh == 3, kernels = VectorKernels.active
        ThreadPool.shared.run(pieces: groups) { group, thread in
            let buffers = scratch[thread], rows = buffers.rows
            let v = buffers.transformedInput.data, dm = buffers.products.data
            let du = kernelGradient.data + group * partSize
            for blockIndex in blocks * group / groups..<blocks * (group + 1) / groups {
                let start = blockIndex * block, count = min(block, tiles - start)
                transformInputBlock(input, height: h, width: w, tiles: start..<start + count, stride: vStride, buffers)
                // dM[xi][t][o] = (A dy A^T)[xi] for tile t's 2x2 output gradient dy.
                var image = start / (tilesY * tilesX), ty = start / tilesX % tilesY, tx = start % tilesX
                for t in 0..<count {
                    let source = dOutput + image * h * w * n
                    for r in 0..<2 {
                        for s in 0..<2 {
                            let y = 2 * ty + r, x = 2 * tx + s
                            rows[r * 2 + s] = y < h && x < w ? source + (y * w + x) * n : UnsafePointer(zeros.data)
                        }
                    }
                    kernels.winogradGradient(rows: rows, tall: tall, channels: n, into: dm + t * n, stride: mStride)
                    tx += 1
                    if tx == tilesX { tx = 0; ty += 1; if ty == tilesY { ty = 0; image += 1 } }
                }
                for xi in 0..<p {
                    BLAS.sgemm(
                        transA: true, m: k, n: n, k: count, a: v + xi * vStride, lda: k, b: dm + xi * mStride,
                        beta: 1, c: du + xi * k * n)
                }
            }
        }
        let du = kernelGradient.data
        ThreadPool.shared.forEachRange(count: partSize) { range, _ in
            for group in 1..<groups {
                let part = du + group * partSize
                for e in range { du[e] += part[e] }
            }
        }
        // dW[o, i, j, c] += (G^T dU G)[i][j] for each channel pair; each input channel's entries are its own.
        ThreadPool.shared.forEachRange(count: inC, grain: max(1, 4096 / outC)) { channels, _ in
            for c in channels {
                for o in 0..<outC {
                    func u(_ xi: Int) -> Float { du[(xi * k + c) * n + o] }
                    let destination = weightGradient + o * kh * 3 * inC + c
                    // G^T along each column of dU, then along each row of the result (F(2, 3)'s G).
                    func add(_ i: Int, _ row: (Float, Float, Float, Float)) {
                        let transformed = F23.kernelGradient(row)
                        destination[(3 * i) * inC] += transformed.0
                        destination[(3 * i + 1) * inC] += transformed.1
                        destination[(3 * i + 2) * inC] += transformed.2
                    }
                    if tall {
                        let c0 = F23.kernelGradient((u(0), u(4), u(8), u(12)))
                        let c1 = F23.kernelGradient((u(1), u(5), u(9), u(13)))
                        let c2 = F23.kernelGradient((u(2), u(6), u(10), u(14)))
                        let c3 = F23.kernelGradient((u(3), u(7), u(11), u(15)))
                        add(0, (c0.0, c1.0, c2.0, c3.0))
                        add(1, (c0.1, c1.1, c2.1, c3.1))
                        add(2, (c0.2, c1.2, c2.2, c3.2))
                    } else {
                        let c0 = F22.kernelGradient((u(0), u(4), u(8)))
                        let c1 = F22.kernelGradient((u(1), u(5), u(9)))
                        let c2 = F22.kernelGradient((u(2), u(6), u(10)))
                        let c3 = F22.kernelGradient((u(3), u(7), u(11)))
                        add(0, (c0.0, c1.0, c2.0, c3.0))
                        add(1, (c0.1, c1.1, c2.1, c3.1))
                    }
                }
            }
        }
        kernelGradient.release()
    }

    /// V[xi][t][c] = (B^T d B)[xi] for each tile t of `tiles` (numbered image by image, row by row), d being its
    /// R x 4 input patch; written to the thread's `transformedInput`, one position xi every `stride` floats.
    private func transformInputBlock(
        _ input: UnsafePointer<Float>, height h: Int, width w: Int, tiles: Range<Int>, stride: Int,
        _ buffers: WinogradScratch
    ) {
        let k = inChannels, v = buffers.transformedInput.data, rows = buffers.rows
        let patchRows = patchRows, origin = origin
        let tall = kernelHeight == 3, kernels = VectorKernels.active
        let tilesY = (h + 1) / 2, tilesX = (w + 1) / 2
        let start = tiles.lowerBound
        var image = start / (tilesY * tilesX), ty = start / tilesX % tilesY, tx = start % tilesX
        for t in 0..<tiles.count {
            let source = input + image * h * w * k
            for r in 0..<patchRows {
                let y = 2 * ty - origin.y + r
                for s in 0..<4 {
                    let x = 2 * tx - origin.x + s
                    rows[r * 4 + s] = y >= 0 && y < h && x >= 0 && x < w
                        ? source + (y * w + x) * k : UnsafePointer(zeros.data)
                }
            }
            kernels.winogradInput(rows: rows, tall: tall, channels: k, into: v + t * k, stride: stride)
            tx += 1
            if tx == tilesX { tx = 0; ty += 1; if ty == tilesY { ty = 0; image += 1 } }
        }
    }

    /// Tiles per block, so that a block's V and U . V (about 512 KiB together) stay in cache from transform to GEMM
    /// to transform. Measured on the VQ-VAE's k3 layers: 512 KiB and 256 KiB blocks ran the same, 1 MiB 5%
    /// slower, 4 MiB 8% slower; on the priors' 2x3 128 -> 256 layers 16 to 28 tiles ran the same, 32 to 128 tiles
    /// 5-15% slower (docs/PERFORMANCE.md).
    private var tileBlock: Int { max(16, (1 << 17) / (positions * (inChannels + outChannels))) }

    /// Floats between one position's block of V (or U . V) and the next beyond the block itself: one cache line,
    /// so that a transform's P loads or stores do not all fall in one L1 set when a block is a multiple of 4 KiB
    /// (the 128 -> 128 k3 layer: 15-20% faster; the priors' 2x3 layers 7%).
    private let positionSkew = 16
}

/// F(2, 3)'s kernel-side transforms along one line (a column or row) of a tile: 3 kernel taps, 4 patch points,
/// 2 outputs. The per-tile transforms of patches, products and output gradients (B^T, A^T, A) are the vector
/// kernels of CVectorKernels (kernels_body.h): they run for every tile and channel, the kernel's once per pass.
private enum F23 {
    /// G applied to a line of a kernel slice.
    static func kernel(_ g: (Float, Float, Float)) -> (Float, Float, Float, Float) {
        (g.0, (g.0 + g.1 + g.2) / 2, (g.0 - g.1 + g.2) / 2, g.2)
    }

    /// G^T applied to a line of a transformed kernel gradient.
    static func kernelGradient(_ u: (Float, Float, Float, Float)) -> (Float, Float, Float) {
        (u.0 + (u.1 + u.2) / 2, (u.1 - u.2) / 2, (u.1 + u.2) / 2 + u.3)
    }
}

/// F(2, 2)'s kernel-side transforms along one column of a tile: 2 kernel taps, 3 patch points, 2 outputs. With the
/// points chosen so that y0 = g0 (d0 - d1) + (g0 + g1) d1 and y1 = (g0 + g1) d1 + g1 (d2 - d1), every coefficient
/// is 0 or +-1: the transforms are exact in fp32 on both sides.
private enum F22 {
    /// G applied to a column of a kernel slice.
    static func kernel(_ g: (Float, Float)) -> (Float, Float, Float) {
        (g.0, g.0 + g.1, g.1)
    }

    /// G^T applied to a column of a transformed kernel gradient.
    static func kernelGradient(_ u: (Float, Float, Float)) -> (Float, Float) {
        (u.0 + u.1, u.1 + u.2)
    }
}

/// One thread's buffers for the blocks of tiles it transforms.
final class WinogradScratch {
    /// V for one block of tiles: [P][tileBlock][K], the positions `positionSkew` floats further apart.
    let transformedInput = Tensor(shape: [0])
    /// U . V for one block of tiles: [P][tileBlock][N] likewise (for the kernel gradient: A dY A^T).
    let products = Tensor(shape: [0])
    /// Written in place of output positions past an odd-sized edge, and never read.
    let discard = Tensor(shape: [0])
    /// The R x 4 input rows of the current patch (or the 4 output gradient rows of a tile), and the 4 output rows
    /// of the current tile.
    let rows = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: 16)
    let outputRows = UnsafeMutablePointer<UnsafeMutablePointer<Float>?>.allocate(capacity: 4)

    deinit {
        rows.deallocate()
        outputRows.deallocate()
    }
}
