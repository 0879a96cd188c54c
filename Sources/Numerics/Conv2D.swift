/// 2-D convolution over NHWC activations (PyTorch's Conv2d), weight [outC, kh, kw, inC], bias [outC].
///
/// A 1x1 stride-1 unpadded convolution is one GEMM straight on the input. Every other shape gathers the im2col
/// matrix block by block (about 1 MiB each, at least 256 rows, see `ConvolutionGeometry.blockRows`) and runs one
/// GEMM per block, so the columns stay in cache and no layer holds a whole-batch column matrix; the weight
/// gradient gathers again rather than keeping forward's columns. A stride-1 convolution with a kernel 3 wide and 3
/// or 2 high whose padding keeps the input's size (the VQ-VAE's 3x3 layers, the priors' 2x3 vertical stacks) runs
/// its forward pass and input gradient and weight gradient as Winograd F(2x2, 3x3) or F(2x2, 2x3) instead
/// (`WinogradConvolution`).
/// docs/PERFORMANCE.md has the measurements behind these choices.
package final class Conv2D {
    package let inChannels: Int
    package let outChannels: Int
    package let kernelHeight: Int
    package let kernelWidth: Int
    package let strideY: Int
    package let strideX: Int
    package let padding: Padding
    package let weight: Parameter
    package let bias: Parameter?

    let store: ParameterStore
    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    /// Each thread's block of the column matrix.
    private let columns = ThreadBuffers()
    /// The weight gradients of the groups of blocks, summed apart and then in group order.
    private let groupGradients = Tensor(shape: [0])
    private let flippedWeight = Tensor(shape: [0])
    /// The Winograd path, for the shapes it supports (nil: im2col).
    let winograd: WinogradConvolution?
    private var input: Tensor?

    package init(
        _ store: ParameterStore, name: String, inChannels: Int, outChannels: Int,
        kernelHeight: Int, kernelWidth: Int, strideY: Int = 1, strideX: Int = 1, padding: Padding, bias: Bool = true
    ) {
        precondition(inChannels > 0 && outChannels > 0 && kernelHeight > 0 && kernelWidth > 0)
        precondition(strideY > 0 && strideX > 0)
        self.store = store
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideY = strideY
        self.strideX = strideX
        self.padding = padding
        winograd = WinogradConvolution.supports(
            kernelHeight: kernelHeight, kernelWidth: kernelWidth, strideY: strideY, strideX: strideX, padding: padding)
            ? WinogradConvolution(kernelHeight: kernelHeight, padding: padding) : nil
        let fanIn = inChannels * kernelHeight * kernelWidth
        weight = store.register(
            name + ".weight", shape: [outChannels, kernelHeight, kernelWidth, inChannels],
            initializer: .pytorchDefault(fanIn: fanIn))
        self.bias = bias
            ? store.register(name + ".bias", shape: [outChannels], initializer: .pytorchDefault(fanIn: fanIn)) : nil
    }

    /// A square kernel with the same stride and padding in both directions.
    package convenience init(
        _ store: ParameterStore, name: String, inChannels: Int, outChannels: Int,
        kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true
    ) {
        self.init(
            store, name: name, inChannels: inChannels, outChannels: outChannels, kernelHeight: kernel,
            kernelWidth: kernel, strideY: stride, strideX: stride, padding: Padding(padding), bias: bias)
    }

    private var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideY == 1 && strideX == 1 && padding == Padding(0)
    }

    private func geometry(_ x: Tensor) -> ConvolutionGeometry {
        ConvolutionGeometry(
            batch: x.n, inputHeight: x.h, inputWidth: x.w, channels: inChannels, kernelHeight: kernelHeight,
            kernelWidth: kernelWidth, strideY: strideY, strideX: strideX, padding: padding)
    }

    /// The output shape for an input of shape [N, H, W, inC].
    package func outputShape(for inputShape: [Int]) -> [Int] {
        let g = ConvolutionGeometry(
            batch: inputShape[0], inputHeight: inputShape[1], inputWidth: inputShape[2], channels: inChannels,
            kernelHeight: kernelHeight, kernelWidth: kernelWidth, strideY: strideY, strideX: strideX,
            padding: padding)
        return [inputShape[0], g.outputHeight, g.outputWidth, outChannels]
    }

    /// y = conv(x) + bias; the result is owned by the layer and valid until the next forward.
    package func forward(_ x: Tensor) -> Tensor {
        store.passObserver?.passBegan()
        defer { store.passObserver?.passEnded() }
        precondition(x.shape.count == 4 && x.c == inChannels, "input \(x.shape) for \(inChannels) channels")
        let g = geometry(x)
        g.validate()
        input = x
        output.resize([x.n, g.outputHeight, g.outputWidth, outChannels])
        let m = g.rows, y = output.data, w = store.value(weight)
        if let winograd {
            winograd.setKernel(w, outChannels: outChannels, inChannels: inChannels, adjoint: false)
            winograd.convolve(
                x.data, batch: x.n, height: x.h, width: x.w, bias: bias.map { UnsafePointer(store.value($0)) },
                into: y)
            return output
        }
        if let bias { Bias.fill(y, rows: m, channels: outChannels, bias: store.value(bias)) }
        let beta: Float = bias == nil ? 0 : 1
        if isPointwise {
            BLAS.sgemm(transB: true, m: m, n: outChannels, k: inChannels, a: x.data, b: w, beta: beta, c: y)
        } else {
            let block = g.blockRows, k = g.patchSize, outC = outChannels, input = UnsafePointer(x.data)
            columns.prepare(count: min(block, m) * k)
            ThreadPool.shared.run(pieces: (m + block - 1) / block) { piece, thread in
                let rows = piece * block..<min((piece + 1) * block, m), buffer = columns[thread]
                g.gather(input, rows: rows, into: buffer)
                BLAS.sgemm(
                    transB: true, m: rows.count, n: outC, k: k, a: buffer, b: w, beta: beta,
                    c: y + rows.lowerBound * outC)
            }
            if g.blockIsOversized { columns.release() }
        }
        return output
    }

    /// Parameter gradients then the input gradient, for the upstream gradient `dOutput` of the last forward.
    package func backward(_ dOutput: Tensor) -> Tensor {
        backwardParameters(dOutput)
        return backwardInput(dOutput)
    }

    /// Accumulates the weight and bias gradients (+=) into the store: dW += dY^T * columns, block by block.
    /// A first layer, whose input is the data, needs only this half of `backward`.
    package func backwardParameters(_ dOutput: Tensor) {
        store.passObserver?.passBegan()
        defer { store.passObserver?.passEnded() }
        guard let x = input else { preconditionFailure("backward before forward") }
        let g = geometry(x)
        precondition(dOutput.shape == outputShape(for: x.shape), "gradient \(dOutput.shape) for input \(x.shape)")
        let m = g.rows, dy = dOutput.data
        if let bias { Bias.accumulateGradient(dy, rows: m, channels: outChannels, into: store.gradient(bias)) }
        let dw = store.gradient(weight)
        if let winograd {
            winograd.accumulateKernelGradient(
                input: x.data, dOutput: dy, batch: x.n, height: x.h, width: x.w, inChannels: inChannels,
                outChannels: outChannels, into: dw)
            return
        }
        if isPointwise {
            BLAS.sgemm(transA: true, m: outChannels, n: inChannels, k: m, a: dy, b: x.data, beta: 1, c: dw)
            return
        }
        // Blocks in groups that depend on the shape alone: each group sums its blocks' products apart, and the
        // groups are added in order, so the result does not depend on how many threads share them. Weights of
        // more than 8 MiB (the paper's priors) get fewer groups, so that the partial sums stay near 64 MiB.
        let block = g.blockRows, k = g.patchSize, outC = outChannels, input = UnsafePointer(x.data)
        let size = outC * k, byMemory = max(2, Conv2D.gradientGroupBytes / (size * MemoryLayout<Float>.stride))
        let blocks = (m + block - 1) / block, groups = min(blocks, Conv2D.gradientGroups, byMemory)
        columns.prepare(count: min(block, m) * k)
        groupGradients.resize([groups, size])
        let parts = groupGradients.data
        ThreadPool.shared.run(pieces: groups) { group, thread in
            let buffer = columns[thread], part = parts + group * size
            for blockIndex in blocks * group / groups..<blocks * (group + 1) / groups {
                let rows = blockIndex * block..<min((blockIndex + 1) * block, m)
                g.gather(input, rows: rows, into: buffer)
                BLAS.sgemm(
                    transA: true, m: outC, n: k, k: rows.count, a: dy + rows.lowerBound * outC, lda: outC,
                    b: buffer, beta: blockIndex == blocks * group / groups ? 0 : 1, c: part)
            }
        }
        GroupSum.add(parts, groups: groups, size: size, into: dw)
        groupGradients.release()
        if g.blockIsOversized { columns.release() }
    }

    /// Groups of blocks in the im2col weight gradient; up to this many threads share that pass.
    static let gradientGroups = 8
    /// Bytes of partial weight gradients above which a layer gets fewer groups (but at least 2).
    static let gradientGroupBytes = 64 << 20

    /// The gradient with respect to the last forward's input (overwritten, owned by the layer).
    ///
    /// Stride 1: the adjoint is itself a stride-1 convolution of dY with the kernel flipped and transposed and
    /// the padding mirrored (k - 1 - p), so it is a gather plus one GEMM with inner size kh*kw*outC, and no
    /// scatter. Larger strides: dColumns = dY * W, then a scatter-add of the columns back onto the input (both
    /// block by block).
    package func backwardInput(_ dOutput: Tensor) -> Tensor {
        store.passObserver?.passBegan()
        defer { store.passObserver?.passEnded() }
        guard let x = input else { preconditionFailure("backward before forward") }
        let g = geometry(x)
        precondition(dOutput.shape == outputShape(for: x.shape), "gradient \(dOutput.shape) for input \(x.shape)")
        inputGradient.resize(like: x)
        let dx = inputGradient.data, dy = dOutput.data, w = store.value(weight)
        let kh = kernelHeight, kw = kernelWidth, inC = inChannels, outC = outChannels
        if isPointwise {
            BLAS.sgemm(m: g.rows, n: inC, k: outC, a: dy, b: w, c: dx)
        } else if let winograd {
            winograd.setKernel(w, outChannels: outC, inChannels: inC, adjoint: true)
            winograd.convolve(dy, batch: x.n, height: x.h, width: x.w, bias: nil, into: dx)
        } else if strideY == 1 && strideX == 1 {
            flippedWeight.resize([kh, kw, outC, inC])
            let flipped = flippedWeight.data
            for i in 0..<kh {
                for j in 0..<kw {
                    for o in 0..<outC {
                        (flipped + ((i * kw + j) * outC + o) * inC)
                            .update(from: w + ((o * kh + kh - 1 - i) * kw + kw - 1 - j) * inC, count: inC)
                    }
                }
            }
            let adjoint = ConvolutionGeometry(
                batch: x.n, inputHeight: g.outputHeight, inputWidth: g.outputWidth, channels: outC,
                kernelHeight: kh, kernelWidth: kw, strideY: 1, strideX: 1,
                padding: Padding(
                    top: kh - 1 - padding.top, bottom: kh - 1 - padding.bottom,
                    left: kw - 1 - padding.left, right: kw - 1 - padding.right))
            let block = adjoint.blockRows, k = adjoint.patchSize, m = adjoint.rows
            columns.prepare(count: min(block, m) * k)
            ThreadPool.shared.run(pieces: (m + block - 1) / block) { piece, thread in
                let rows = piece * block..<min((piece + 1) * block, m), buffer = columns[thread]
                adjoint.gather(dy, rows: rows, into: buffer)
                BLAS.sgemm(m: rows.count, n: inC, k: k, a: buffer, b: flipped, c: dx + rows.lowerBound * inC)
            }
            if adjoint.blockIsOversized { columns.release() }
            // Rebuilt every backward anyway; kept, the copies of every layer would add up to a second set of the
            // convolution weights (2 GB in the paper's priors).
            flippedWeight.release()
        } else {
            // Overlapping patches scatter onto shared input positions, so the blocks go in order; each product is
            // split over the threads.
            let block = g.blockRows, k = g.patchSize, m = g.rows
            columns.prepare(count: min(block, m) * k)
            let buffer = columns[0]
            inputGradient.zero()
            for start in stride(from: 0, to: m, by: block) {
                let rows = start..<min(start + block, m)
                BLAS.sgemm(m: rows.count, n: k, k: outC, a: dy + start * outC, b: w, c: buffer)
                g.scatterAdd(buffer, rows: rows, into: dx)
            }
            if g.blockIsOversized { columns.release() }
        }
        return inputGradient
    }
}
