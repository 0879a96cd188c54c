/// A stride-1 convolution of the embedding of integer codes (a Conv2D applied to a CodeEmbedding's output), computed
/// from per-tap lookup tables instead of the embedded input: the priors' first gated layer.
///
/// The convolution is linear and its input is a table lookup, so with W_t the kernel's tap t ([outC, C]) and
/// T_t = E W_t^T ([K, outC]), output p is bias + sum over in-bounds taps t of T_t[code at p + offset_t]; taps in
/// the padding add nothing, as zero padding of the embedded input does. Building every T_t is one GEMM of
/// K * C * taps * outC multiply-adds per forward, which for K = 512 codes and more than K positions replaces
/// several times as much im2col work. Backward scatters dY into G_t[code] (the gradient of T_t), then dE += G W'
/// (one GEMM) and dW_t += G_t^T E (one per tap). docs/PERFORMANCE.md has the measurements.
///
/// It shares the weight, bias and table parameters of the Conv2D and CodeEmbedding it stands for (same names, so
/// checkpoints and parameter counts do not change) and accumulates their gradients into the store.
package final class EmbeddedConvolution {
    package let numCodes: Int
    package let inChannels: Int
    package let outChannels: Int
    package let kernelHeight: Int
    package let kernelWidth: Int
    package let padding: Padding
    package let weight: Parameter
    package let bias: Parameter?
    package let table: Parameter

    private let store: ParameterStore
    private let output = Tensor(shape: [0])
    /// T [K, taps, outC] in forward; in backward its gradient G, of the same layout. Held rather than released
    /// between passes: freeing and reallocating it every pass fragmented the heap (peak RSS of the top prior's
    /// benchmark 466 MB instead of 406 MB).
    private let tapTables = Tensor(shape: [0])
    /// The weight as W' [taps, outC, C], so that one GEMM builds every T_t (and one gives dE in backward).
    private let tapWeights = Tensor(shape: [0])
    private var codes: [Int32] = []
    private var inputShape: [Int] = []

    /// The convolution `convolution` (stride 1) of the output of `embedding`, on their parameters.
    package init(_ store: ParameterStore, embedding: CodeEmbedding, convolution: Conv2D) {
        precondition(convolution.strideY == 1 && convolution.strideX == 1, "table convolution needs stride 1")
        precondition(
            convolution.inChannels == embedding.dimension,
            "convolution of \(convolution.inChannels) channels on an embedding of \(embedding.dimension)")
        self.store = store
        numCodes = embedding.numCodes
        inChannels = convolution.inChannels
        outChannels = convolution.outChannels
        kernelHeight = convolution.kernelHeight
        kernelWidth = convolution.kernelWidth
        padding = convolution.padding
        weight = convolution.weight
        bias = convolution.bias
        table = embedding.weight
    }

    private func geometry(batch: Int, height: Int, width: Int) -> ConvolutionGeometry {
        ConvolutionGeometry(
            batch: batch, inputHeight: height, inputWidth: width, channels: inChannels, kernelHeight: kernelHeight,
            kernelWidth: kernelWidth, strideY: 1, strideX: 1, padding: padding)
    }

    /// The convolution of the embedded codes [N, H, W] (`shape`, row-major): [N, H', W', outC] with the
    /// geometry of the Conv2D it stands for; owned by the layer until the next forward.
    package func forward(_ codes: [Int32], shape: [Int]) -> Tensor {
        store.passObserver?.passBegan()
        defer { store.passObserver?.passEnded() }
        precondition(shape.count == 3 && codes.count == shape.reduce(1, *), "\(codes.count) codes for shape \(shape)")
        precondition(codes.allSatisfy { $0 >= 0 && Int($0) < numCodes }, "codes outside 0..<\(numCodes)")
        let g = geometry(batch: shape[0], height: shape[1], width: shape[2])
        g.validate()
        self.codes.removeAll(keepingCapacity: true)
        self.codes.append(contentsOf: codes)
        inputShape = shape
        let taps = kernelHeight * kernelWidth, outC = outChannels, c = inChannels
        tapWeights.resize([taps, outC, c])
        let w = store.value(weight), permuted = tapWeights.data
        for o in 0..<outC {
            for t in 0..<taps { (permuted + (t * outC + o) * c).update(from: w + (o * taps + t) * c, count: c) }
        }
        tapTables.resize([numCodes, taps, outC])
        BLAS.sgemm(
            transB: true, m: numCodes, n: taps * outC, k: c, a: store.value(table), b: permuted, c: tapTables.data)
        output.resize([shape[0], g.outputHeight, g.outputWidth, outC])
        if let bias {
            Bias.fill(output.data, rows: g.rows, channels: outC, bias: store.value(bias))
        } else {
            output.zero()
        }
        let tables = tapTables.data, y = output.data
        forEachTap(g) { code, tap, position in
            Self.add(tables + (code * taps + tap) * outC, into: y + position * outC, count: outC)
        }
        return output
    }

    /// Accumulates dW, dBias and the table's gradient dE (+=) for the upstream gradient of the last forward.
    package func backward(_ dOutput: Tensor) {
        store.passObserver?.passBegan()
        defer { store.passObserver?.passEnded() }
        let g = geometry(batch: inputShape[0], height: inputShape[1], width: inputShape[2])
        // The shape from the geometry, not from `output`: a caller may release the output once it is read.
        let shape = [g.batch, g.outputHeight, g.outputWidth, outChannels]
        precondition(dOutput.shape == shape, "gradient \(dOutput.shape) for output \(shape)")
        let taps = kernelHeight * kernelWidth, outC = outChannels, c = inChannels, k = numCodes
        let dy = dOutput.data
        if let bias { Bias.accumulateGradient(dy, rows: g.rows, channels: outC, into: store.gradient(bias)) }
        tapTables.resize([k, taps, outC])
        tapTables.zero()
        let gradients = tapTables.data
        forEachTap(g) { code, tap, position in
            Self.add(dy + position * outC, into: gradients + (code * taps + tap) * outC, count: outC)
        }
        BLAS.sgemm(
            m: k, n: c, k: taps * outC, a: gradients, b: tapWeights.data, beta: 1, c: store.gradient(table))
        // One GEMM per tap straight into dW's [outC, taps, C] rows, which leaves W' intact for another backward.
        let e = store.value(table), dw = store.gradient(weight)
        for t in 0..<taps {
            BLAS.sgemm(
                transA: true, m: outC, n: c, k: k, a: gradients + t * outC, lda: taps * outC, b: e, beta: 1,
                c: dw + t * c, ldc: taps * c)
        }
    }

    /// Calls `body(code, tap, output position)` for every input position and every tap that carries it to an
    /// output position inside the output (taps in raster order over the kernel, positions as rows of [N*H'*W']).
    ///
    /// Input-major order: the taps of one code are one contiguous row of T (or G), read or written in order, while
    /// the output positions it reaches lie within a few output rows that stay in cache.
    @inline(__always)
    private func forEachTap(_ g: ConvolutionGeometry, _ body: (Int, Int, Int) -> Void) {
        let h = g.inputHeight, w = g.inputWidth, oh = g.outputHeight, ow = g.outputWidth
        let kh = kernelHeight, kw = kernelWidth, top = padding.top, left = padding.left
        codes.withUnsafeBufferPointer { codes in
            for n in 0..<g.batch {
                for yi in 0..<h {
                    for xi in 0..<w {
                        let code = Int(codes[(n * h + yi) * w + xi])
                        // Output column ox = xi + left - j must lie in 0..<ow.
                        let firstColumn = max(0, xi + left - ow + 1), endColumn = min(kw, xi + left + 1)
                        for i in 0..<kh {
                            let oy = yi + top - i
                            guard oy >= 0 && oy < oh else { continue }
                            for j in firstColumn..<max(firstColumn, endColumn) {
                                body(code, i * kw + j, (n * oh + oy) * ow + xi + left - j)
                            }
                        }
                    }
                }
            }
        }
    }

    /// target[0..<count] += source[0..<count], eight lanes at a time.
    @inline(__always)
    private static func add(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            VectorMath.store(VectorMath.load(target + i) + VectorMath.load(source + i), target + i)
            i += 8
        }
        while i < count {
            target[i] += source[i]
            i += 1
        }
    }
}
