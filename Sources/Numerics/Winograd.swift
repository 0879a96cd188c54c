/// Winograd F(2x2, 3x3) (Lavin & Gray 2015) for 3x3 stride-1 convolutions padded by 1 on every side, NHWC.
///
/// Each 2x2 block of outputs ("tile") is read from a 4x4 input patch d. With V = B^T d B per patch and
/// U = G g G^T per kernel slice, the tile is A^T (U . V) A, where "." is elementwise over the 16 positions and a
/// matrix product over channels: 16 GEMMs of [tiles, inC] x [inC, outC] do 2.25x fewer multiply-adds than the
/// im2col GEMM [outputs, 9 inC] x [9 inC, outC]. Tiles go through in cache-sized blocks (input transform, 16
/// GEMMs, output transform), as the im2col path does with its column blocks. The input gradient is the same
/// computation with the flipped kernel; the weight gradient accumulates dU = V^T (A dY A^T) by 16 GEMMs and maps
/// it back with G^T dU G. The patch and tile transforms only add and subtract (G's halves apply to the kernel
/// side), so fp32 rounding stays close to the direct sum's.
final class WinogradConvolution {
    /// U: the transformed kernel, [16][K][N] for a convolution from K channels to N.
    private let kernel = Tensor(shape: [0])
    /// V for one block of tiles: [16][tileBlock][K].
    private let transformedInput = Tensor(shape: [0])
    /// U . V for one block of tiles: [16][tileBlock][N] (for the kernel gradient: A dY A^T).
    private let products = Tensor(shape: [0])
    /// dU, the kernel gradient in the transformed domain: [16][K][N].
    private let kernelGradient = Tensor(shape: [0])
    /// Read in place of input positions in the padding, and the bias of a convolution without one.
    private let zeros = Tensor(shape: [0])
    /// Written in place of output positions past an odd-sized edge, and never read.
    private let discard = Tensor(shape: [0])
    /// The 16 input rows of the current patch (or the 4 output gradient rows of a tile), and the 4 output rows
    /// of the current tile.
    private let rows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: 16)
    private let outputRows = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: 4)
    private var inChannels = 0
    private var outChannels = 0

    deinit {
        rows.deallocate()
        outputRows.deallocate()
    }

    /// Transforms a kernel [outC, 3, 3, inC] for the convolution itself (`adjoint` false: inC -> outC), or for
    /// its input gradient (`adjoint` true: outC -> inC with the kernel flipped, the stride-1 adjoint).
    func setKernel(_ weight: UnsafePointer<Float>, outChannels outC: Int, inChannels inC: Int, adjoint: Bool) {
        inChannels = adjoint ? outC : inC
        outChannels = adjoint ? inC : outC
        let k = inChannels, n = outChannels
        kernel.resize([16, k, n])
        let u = kernel.data
        for o in 0..<outC {
            for c in 0..<inC {
                // g[i][j] = w[o, i, j, c], or w[o, 2 - i, 2 - j, c] flipped.
                func g(_ i: Int, _ j: Int) -> Float {
                    adjoint
                        ? weight[((o * 3 + 2 - i) * 3 + 2 - j) * inC + c] : weight[((o * 3 + i) * 3 + j) * inC + c]
                }
                // G g: rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2; then the same along each row (G^T).
                let c0 = kernelTransform((g(0, 0), g(1, 0), g(2, 0)))
                let c1 = kernelTransform((g(0, 1), g(1, 1), g(2, 1)))
                let c2 = kernelTransform((g(0, 2), g(1, 2), g(2, 2)))
                let destination = u + (adjoint ? o * n + c : c * n + o)
                func put(_ i: Int, _ row: (Float, Float, Float, Float)) {
                    destination[(4 * i) * k * n] = row.0
                    destination[(4 * i + 1) * k * n] = row.1
                    destination[(4 * i + 2) * k * n] = row.2
                    destination[(4 * i + 3) * k * n] = row.3
                }
                put(0, kernelTransform((c0.0, c1.0, c2.0)))
                put(1, kernelTransform((c0.1, c1.1, c2.1)))
                put(2, kernelTransform((c0.2, c1.2, c2.2)))
                put(3, kernelTransform((c0.3, c1.3, c2.3)))
            }
        }
    }

    /// output[N, H, W, outC] = the convolution of input[N, H, W, inC] with the kernel last set (+ bias), padding 1.
    func convolve(
        _ input: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int, bias: UnsafePointer<Float>?,
        into output: UnsafeMutablePointer<Float>
    ) {
        let k = inChannels, n = outChannels
        let tilesY = (h + 1) / 2, tilesX = (w + 1) / 2, tiles = batch * tilesY * tilesX
        let block = tileBlock
        transformedInput.resize([16, block, k])
        products.resize([16, block, n])
        zeros.resize([max(k, n)])
        zeros.zero()
        discard.resize([n])
        let v = transformedInput.data, m = products.data, u = kernel.data
        let biasRow = bias ?? UnsafePointer(zeros.data)
        for start in stride(from: 0, to: tiles, by: block) {
            let count = min(block, tiles - start)
            transformInputBlock(input, height: h, width: w, tiles: start..<start + count, block: block)
            for xi in 0..<16 {
                BLAS.sgemm(
                    m: count, n: n, k: k, a: v + xi * block * k, b: u + xi * k * n, c: m + xi * block * n)
            }
            // Output transform: the tile's 2x2 outputs are A^T M A (+ bias).
            var image = start / (tilesY * tilesX), ty = start / tilesX % tilesY, tx = start % tilesX
            for t in 0..<count {
                let target = output + image * h * w * n
                for r in 0..<2 {
                    for s in 0..<2 {
                        let y = 2 * ty + r, x = 2 * tx + s
                        outputRows[r * 2 + s] = y < h && x < w ? target + (y * w + x) * n : discard.data
                    }
                }
                let source = m + t * n
                var c = 0
                while c + 4 <= n { transformOutput(SIMD4<Float>.self, c, source, block * n, biasRow); c += 4 }
                while c < n { transformOutput(Float.self, c, source, block * n, biasRow); c += 1 }
                tx += 1
                if tx == tilesX { tx = 0; ty += 1; if ty == tilesY { ty = 0; image += 1 } }
            }
        }
    }

    /// Accumulates (+=) the gradient of the kernel [outC, 3, 3, inC] of the convolution of input[N, H, W, inC]
    /// whose output gradient is dOutput[N, H, W, outC]: dU[xi] = sum over tiles of V^T (A dY A^T), then
    /// dW += G^T dU G, so the big products are again 16 GEMMs with 2.25x fewer multiply-adds than im2col's.
    func accumulateKernelGradient(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int,
        inChannels inC: Int, outChannels outC: Int, into weightGradient: UnsafeMutablePointer<Float>
    ) {
        inChannels = inC
        outChannels = outC
        let k = inC, n = outC
        let tilesY = (h + 1) / 2, tilesX = (w + 1) / 2, tiles = batch * tilesY * tilesX
        let block = tileBlock
        transformedInput.resize([16, block, k])
        products.resize([16, block, n])
        zeros.resize([max(k, n)])
        zeros.zero()
        kernelGradient.resize([16, k, n])
        kernelGradient.zero()
        let v = transformedInput.data, dm = products.data, du = kernelGradient.data
        for start in stride(from: 0, to: tiles, by: block) {
            let count = min(block, tiles - start)
            transformInputBlock(input, height: h, width: w, tiles: start..<start + count, block: block)
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
                let destination = dm + t * n
                var c = 0
                while c + 4 <= n { transformGradient(SIMD4<Float>.self, c, destination, block * n); c += 4 }
                while c < n { transformGradient(Float.self, c, destination, block * n); c += 1 }
                tx += 1
                if tx == tilesX { tx = 0; ty += 1; if ty == tilesY { ty = 0; image += 1 } }
            }
            for xi in 0..<16 {
                BLAS.sgemm(
                    transA: true, m: k, n: n, k: count, a: v + xi * block * k, lda: k, b: dm + xi * block * n,
                    beta: 1, c: du + xi * k * n)
            }
        }
        // dW[o, i, j, c] += (G^T dU G)[i][j] for each channel pair.
        for c in 0..<inC {
            for o in 0..<outC {
                func u(_ xi: Int) -> Float { du[(xi * k + c) * n + o] }
                let c0 = kernelGradientTransform((u(0), u(4), u(8), u(12)))
                let c1 = kernelGradientTransform((u(1), u(5), u(9), u(13)))
                let c2 = kernelGradientTransform((u(2), u(6), u(10), u(14)))
                let c3 = kernelGradientTransform((u(3), u(7), u(11), u(15)))
                let destination = weightGradient + o * 9 * inC + c
                func add(_ i: Int, _ row: (Float, Float, Float)) {
                    destination[(3 * i) * inC] += row.0
                    destination[(3 * i + 1) * inC] += row.1
                    destination[(3 * i + 2) * inC] += row.2
                }
                add(0, kernelGradientTransform((c0.0, c1.0, c2.0, c3.0)))
                add(1, kernelGradientTransform((c0.1, c1.1, c2.1, c3.1)))
                add(2, kernelGradientTransform((c0.2, c1.2, c2.2, c3.2)))
            }
        }
    }

    /// V[xi][t][c] = (B^T d B)[xi] for each tile t of `tiles` (numbered image by image, row by row), d being its
    /// 4x4 input patch; written to `transformedInput` with `block` tiles per position xi.
    private func transformInputBlock(
        _ input: UnsafePointer<Float>, height h: Int, width w: Int, tiles: Range<Int>, block: Int
    ) {
        let k = inChannels, v = transformedInput.data
        let tilesY = (h + 1) / 2, tilesX = (w + 1) / 2
        let start = tiles.lowerBound
        var image = start / (tilesY * tilesX), ty = start / tilesX % tilesY, tx = start % tilesX
        for t in 0..<tiles.count {
            let source = input + image * h * w * k
            for r in 0..<4 {
                let y = 2 * ty - 1 + r
                for s in 0..<4 {
                    let x = 2 * tx - 1 + s
                    rows[r * 4 + s] = y >= 0 && y < h && x >= 0 && x < w
                        ? source + (y * w + x) * k : UnsafePointer(zeros.data)
                }
            }
            let destination = v + t * k
            var c = 0
            while c + 4 <= k { transformInput(SIMD4<Float>.self, c, destination, block * k); c += 4 }
            while c < k { transformInput(Float.self, c, destination, block * k); c += 1 }
            tx += 1
            if tx == tilesX { tx = 0; ty += 1; if ty == tilesY { ty = 0; image += 1 } }
        }
    }

    /// Writes channels c..<c + L's width of A dy A^T, dy being the 2x2 output gradient rows in `rows`, to
    /// `destination` + c, one position every `stride` floats.
    @inline(__always)
    private func transformGradient<L: WinogradLane>(
        _: L.Type, _ c: Int, _ destination: UnsafeMutablePointer<Float>, _ stride: Int
    ) {
        func g(_ i: Int) -> L { L(loading: rows[i] + c) }
        // Columns of A dy, then A along each row of it.
        let c0 = gradientTransform((g(0), g(2))), c1 = gradientTransform((g(1), g(3)))
        func put(_ i: Int, _ row: (L, L, L, L)) {
            let out = destination + c + 4 * i * stride
            row.0.store(out)
            row.1.store(out + stride)
            row.2.store(out + 2 * stride)
            row.3.store(out + 3 * stride)
        }
        put(0, gradientTransform((c0.0, c1.0)))
        put(1, gradientTransform((c0.1, c1.1)))
        put(2, gradientTransform((c0.2, c1.2)))
        put(3, gradientTransform((c0.3, c1.3)))
    }

    /// Tiles per block, so that a block's V and U . V (about 512 KiB together) stay in cache from transform to GEMM
    /// to transform. Measured on the VQ-VAE's k3 layers: 512 KiB and 256 KiB blocks ran the same, 1 MiB 5%
    /// slower, 4 MiB 8% slower (docs/PERFORMANCE.md).
    private var tileBlock: Int { max(16, (1 << 13) / (inChannels + outChannels)) }

    /// Writes channels c..<c + L's width of B^T d B, d being the 16 rows in `rows`, to `destination` + c, one
    /// position every `stride` floats.
    @inline(__always)
    private func transformInput<L: WinogradLane>(
        _: L.Type, _ c: Int, _ destination: UnsafeMutablePointer<Float>, _ stride: Int
    ) {
        func d(_ i: Int) -> L { L(loading: rows[i] + c) }
        // Columns of B^T d, then B^T along each row of it.
        let c0 = inputTransform((d(0), d(4), d(8), d(12))), c1 = inputTransform((d(1), d(5), d(9), d(13)))
        let c2 = inputTransform((d(2), d(6), d(10), d(14))), c3 = inputTransform((d(3), d(7), d(11), d(15)))
        let r0 = inputTransform((c0.0, c1.0, c2.0, c3.0)), r1 = inputTransform((c0.1, c1.1, c2.1, c3.1))
        let r2 = inputTransform((c0.2, c1.2, c2.2, c3.2)), r3 = inputTransform((c0.3, c1.3, c2.3, c3.3))
        func put(_ i: Int, _ row: (L, L, L, L)) {
            let out = destination + c + 4 * i * stride
            row.0.store(out)
            row.1.store(out + stride)
            row.2.store(out + 2 * stride)
            row.3.store(out + 3 * stride)
        }
        put(0, r0)
        put(1, r1)
        put(2, r2)
        put(3, r3)
    }

    /// Writes channels c..<c + L's width of A^T M A + bias, M read from `source` + c every `stride` floats, to the
    /// four output rows in `outputRows`.
    @inline(__always)
    private func transformOutput<L: WinogradLane>(
        _: L.Type, _ c: Int, _ source: UnsafeMutablePointer<Float>, _ stride: Int, _ bias: UnsafePointer<Float>
    ) {
        func m(_ i: Int) -> L { L(loading: source + c + i * stride) }
        let c0 = outputTransform((m(0), m(4), m(8), m(12))), c1 = outputTransform((m(1), m(5), m(9), m(13)))
        let c2 = outputTransform((m(2), m(6), m(10), m(14))), c3 = outputTransform((m(3), m(7), m(11), m(15)))
        let top = outputTransform((c0.0, c1.0, c2.0, c3.0)), bottom = outputTransform((c0.1, c1.1, c2.1, c3.1))
        let b = L(loading: bias + c)
        (top.0 + b).store(outputRows[0] + c)
        (top.1 + b).store(outputRows[1] + c)
        (bottom.0 + b).store(outputRows[2] + c)
        (bottom.1 + b).store(outputRows[3] + c)
    }
}

/// G applied to one column (or row) of a 3x3 kernel slice.
private func kernelTransform(_ g: (Float, Float, Float)) -> (Float, Float, Float, Float) {
    (g.0, (g.0 + g.1 + g.2) / 2, (g.0 - g.1 + g.2) / 2, g.2)
}

/// G^T applied to one column (or row) of a transformed kernel gradient.
private func kernelGradientTransform(_ u: (Float, Float, Float, Float)) -> (Float, Float, Float) {
    (u.0 + (u.1 + u.2) / 2, (u.1 - u.2) / 2, (u.1 + u.2) / 2 + u.3)
}

/// A applied to one column (or row) of a 2x2 output gradient.
@inline(__always)
private func gradientTransform<L: WinogradLane>(_ g: (L, L)) -> (L, L, L, L) {
    (g.0, g.0 + g.1, g.0 - g.1, -g.1)
}

/// B^T applied to one column (or row) of a 4x4 patch.
@inline(__always)
private func inputTransform<L: WinogradLane>(_ d: (L, L, L, L)) -> (L, L, L, L) {
    (d.0 - d.2, d.1 + d.2, d.2 - d.1, d.1 - d.3)
}

/// A^T applied to one column (or row) of a 4x4 product.
@inline(__always)
private func outputTransform<L: WinogradLane>(_ m: (L, L, L, L)) -> (L, L) {
    (m.0 + m.1 + m.2, m.1 - m.2 - m.3)
}

/// The channels one transform step handles: four at a time in a SIMD register, or one for the remainder.
protocol WinogradLane {
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static prefix func - (a: Self) -> Self
    init(loading pointer: UnsafePointer<Float>)
    func store(_ pointer: UnsafeMutablePointer<Float>)
}

extension Float: WinogradLane {
    @inline(__always) init(loading pointer: UnsafePointer<Float>) { self = pointer.pointee }
    @inline(__always) func store(_ pointer: UnsafeMutablePointer<Float>) { pointer.pointee = self }
}

extension SIMD4: WinogradLane where Scalar == Float {
    @inline(__always) init(loading pointer: UnsafePointer<Float>) {
        self = UnsafeRawPointer(pointer).loadUnaligned(as: SIMD4<Float>.self)
    }
    @inline(__always) func store(_ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: self, as: SIMD4<Float>.self)
    }
}
