/// Transposed 2-D convolution over NHWC activations (PyTorch's ConvTranspose2d without output_padding or
/// dilation), weight [inC, kh, kw, outC] (PyTorch's [in, out, kh, kw] permuted), bias [outC].
///
/// It is the adjoint of a Conv2D from the output to the input shape, and the weight layout makes each step a
/// GEMM on the im2col matrix of that convolution, taken in cache-sized blocks of rows: forward columns = x * W
/// then a scatter-add onto the output; backward gathers dY's columns once per block and uses them for both
/// dW += x^T * columns and dX = columns * W^T.
/// Output size: (H - 1) * stride - top - bottom + kh (and likewise for the width); negative padding grows it.
package final class ConvTranspose2D {
    package let inChannels: Int
    package let outChannels: Int
    package let kernelHeight: Int
    package let kernelWidth: Int
    package let strideY: Int
    package let strideX: Int
    package let padding: Padding
    package let weight: Parameter
    package let bias: Parameter?

    private let store: ParameterStore
    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    /// Each thread's block of the column matrix.
    private let columns = ThreadBuffers()
    /// The weight gradients of the groups of blocks, summed apart and then in group order.
    private let groupGradients = Tensor(shape: [0])
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
        // PyTorch takes fan_in from dimension 1 of its [in, out, kh, kw] weight.
        let fanIn = outChannels * kernelHeight * kernelWidth
        weight = store.register(
            name + ".weight", shape: [inChannels, kernelHeight, kernelWidth, outChannels],
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

    /// The output shape for an input of shape [N, H, W, inC].
    package func outputShape(for inputShape: [Int]) -> [Int] {
        [
            inputShape[0], (inputShape[1] - 1) * strideY - padding.top - padding.bottom + kernelHeight,
            (inputShape[2] - 1) * strideX - padding.left - padding.right + kernelWidth, outChannels,
        ]
    }

    /// The convolution from this layer's output shape back to `x`'s shape, whose adjoint this layer is.
    private func geometry(_ x: Tensor) -> ConvolutionGeometry {
        let shape = outputShape(for: x.shape)
        let g = ConvolutionGeometry(
            batch: x.n, inputHeight: shape[1], inputWidth: shape[2], channels: outChannels,
            kernelHeight: kernelHeight, kernelWidth: kernelWidth, strideY: strideY, strideX: strideX,
            padding: padding)
        precondition(shape[1] > 0 && shape[2] > 0, "input \(x.shape) gives an empty output")
        g.validate()
        return g
    }

    /// y = convTranspose(x) + bias; the result is owned by the layer and valid until the next forward.
    package func forward(_ x: Tensor) -> Tensor {
        store.passObserver?.passBegan()
        defer { store.passObserver?.passEnded() }
        precondition(x.shape.count == 4 && x.c == inChannels, "input \(x.shape) for \(inChannels) channels")
        let g = geometry(x)
        input = x
        output.resize([x.n, g.inputHeight, g.inputWidth, outChannels])
        let y = output.data, outputRows = x.n * g.inputHeight * g.inputWidth
        if let bias {
            Bias.fill(y, rows: outputRows, channels: outChannels, bias: store.value(bias))
        } else {
            output.zero()
        }
        let block = g.blockRows, k = g.patchSize, m = g.rows, inC = inChannels, w = store.value(weight)
        // Neighbouring blocks scatter onto shared output positions, so the blocks go in order; each product is
        // split over the threads.
        columns.prepare(count: min(block, m) * k)
        let buffer = columns[0]
        for start in stride(from: 0, to: m, by: block) {
            let rows = start..<min(start + block, m)
            BLAS.sgemm(m: rows.count, n: k, k: inC, a: x.data + start * inC, b: w, c: buffer)
            g.scatterAdd(buffer, rows: rows, into: y)
        }
        if g.blockIsOversized { columns.release() }
        return output
    }

    /// Parameter gradients then the input gradient, for the upstream gradient `dOutput` of the last forward;
    /// each block of dY's columns is gathered once for both.
    package func backward(_ dOutput: Tensor) -> Tensor {
        backwardPasses(dOutput, parameters: true, input: true)
        return inputGradient
    }

    /// Accumulates the weight and bias gradients (+=) into the store: dW += x^T * columns(dY).
    package func backwardParameters(_ dOutput: Tensor) { backwardPasses(dOutput, parameters: true, input: false) }

    /// The gradient with respect to the last forward's input (overwritten, owned by the layer): a stride-s
    /// convolution of dY, dX = columns(dY) * W^T.
    package func backwardInput(_ dOutput: Tensor) -> Tensor {
        backwardPasses(dOutput, parameters: false, input: true)
        return inputGradient
    }

    private func backwardPasses(_ dOutput: Tensor, parameters: Bool, input needsInput: Bool) {
        store.passObserver?.passBegan()
        defer { store.passObserver?.passEnded() }
        guard let x = input else { preconditionFailure("backward before forward") }
        precondition(dOutput.shape == outputShape(for: x.shape), "gradient \(dOutput.shape) for input \(x.shape)")
        let g = geometry(x)
        let block = g.blockRows, k = g.patchSize, m = g.rows, inC = inChannels
        let w = store.value(weight), dw = store.gradient(weight)
        if parameters, let bias {
            Bias.accumulateGradient(
                dOutput.data, rows: dOutput.count / outChannels, channels: outChannels, into: store.gradient(bias))
        }
        if needsInput { inputGradient.resize(like: x) }
        let dx = inputGradient.data, xs = UnsafePointer(x.data), dy = UnsafePointer(dOutput.data)
        // Blocks in groups that depend on the shape alone (as Conv2D's weight gradient): each group sums its
        // blocks' weight-gradient products apart, and the groups are added in order.
        let blocks = (m + block - 1) / block, groups = min(blocks, ConvTranspose2D.gradientGroups), size = inC * k
        columns.prepare(count: min(block, m) * k)
        if parameters { groupGradients.resize([groups, size]) }
        let parts = groupGradients.data
        ThreadPool.shared.run(pieces: groups) { group, thread in
            let buffer = columns[thread], first = blocks * group / groups
            for blockIndex in first..<blocks * (group + 1) / groups {
                let rows = blockIndex * block..<min((blockIndex + 1) * block, m)
                g.gather(dy, rows: rows, into: buffer)
                if parameters {
                    BLAS.sgemm(
                        transA: true, m: inC, n: k, k: rows.count, a: xs + rows.lowerBound * inC, lda: inC,
                        b: buffer, beta: blockIndex == first ? 0 : 1, c: parts + group * size)
                }
                if needsInput {
                    BLAS.sgemm(
                        transB: true, m: rows.count, n: inC, k: k, a: buffer, b: w, c: dx + rows.lowerBound * inC)
                }
            }
        }
        if parameters {
            GroupSum.add(parts, groups: groups, size: size, into: dw)
            groupGradients.release()
        }
        if g.blockIsOversized { columns.release() }
    }

    /// Groups of blocks in the weight gradient; up to this many threads share the backward pass.
    static let gradientGroups = 8
}
