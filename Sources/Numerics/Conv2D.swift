/// 2-D convolution over NHWC activations (PyTorch's Conv2d), weight [outC, kh, kw, inC], bias [outC].
///
/// A 1x1 stride-1 unpadded convolution is one GEMM straight on the input; every other shape gathers an im2col
/// matrix and runs one GEMM over the whole batch, which measured faster here than per-tap shifted GEMMs (see
/// docs/PERFORMANCE.md). The column matrix is kept from forward for the weight gradient.
public final class Conv2D {
    public let inChannels: Int
    public let outChannels: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let strideY: Int
    public let strideX: Int
    public let padding: Padding
    public let weight: Parameter
    public let bias: Parameter?

    private let store: ParameterStore
    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    private let columns = Tensor(shape: [0])
    private let flippedWeight = Tensor(shape: [0])
    private var input: Tensor?
    /// Whether `columns` still holds the im2col matrix of `input` (the input gradient reuses the buffer).
    private var columnsHoldInput = false

    public init(
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
        let fanIn = inChannels * kernelHeight * kernelWidth
        weight = store.register(
            name + ".weight", shape: [outChannels, kernelHeight, kernelWidth, inChannels],
            initializer: .pytorchDefault(fanIn: fanIn))
        self.bias = bias
            ? store.register(name + ".bias", shape: [outChannels], initializer: .pytorchDefault(fanIn: fanIn)) : nil
    }

    /// A square kernel with the same stride and padding in both directions.
    public convenience init(
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
    public func outputShape(for inputShape: [Int]) -> [Int] {
        let g = ConvolutionGeometry(
            batch: inputShape[0], inputHeight: inputShape[1], inputWidth: inputShape[2], channels: inChannels,
            kernelHeight: kernelHeight, kernelWidth: kernelWidth, strideY: strideY, strideX: strideX,
            padding: padding)
        return [inputShape[0], g.outputHeight, g.outputWidth, outChannels]
    }

    /// y = conv(x) + bias; the result is owned by the layer and valid until the next forward.
    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.shape.count == 4 && x.c == inChannels, "input \(x.shape) for \(inChannels) channels")
        let g = geometry(x)
        g.validate()
        input = x
        output.resize([x.n, g.outputHeight, g.outputWidth, outChannels])
        let m = g.rows, y = output.data, w = store.value(weight)
        if let bias { Bias.fill(y, rows: m, channels: outChannels, bias: store.value(bias)) }
        let beta: Float = bias == nil ? 0 : 1
        if isPointwise {
            BLAS.sgemm(transB: true, m: m, n: outChannels, k: inChannels, a: x.data, b: w, beta: beta, c: y)
        } else {
            columns.resize([m, g.patchSize])
            g.gather(x.data, into: columns.data)
            columnsHoldInput = true
            BLAS.sgemm(transB: true, m: m, n: outChannels, k: g.patchSize, a: columns.data, b: w, beta: beta, c: y)
        }
        return output
    }

    /// Parameter gradients then the input gradient, for the upstream gradient `dOutput` of the last forward.
    public func backward(_ dOutput: Tensor) -> Tensor {
        backwardParameters(dOutput)
        return backwardInput(dOutput)
    }

    /// Accumulates the weight and bias gradients (+=) into the store: one GEMM dW += dY^T * columns.
    public func backwardParameters(_ dOutput: Tensor) {
        guard let x = input else { preconditionFailure("backward before forward") }
        let g = geometry(x)
        precondition(dOutput.shape == output.shape, "gradient \(dOutput.shape) for output \(output.shape)")
        let m = g.rows, dy = dOutput.data
        if let bias { Bias.accumulateGradient(dy, rows: m, channels: outChannels, into: store.gradient(bias)) }
        let dw = store.gradient(weight)
        if isPointwise {
            BLAS.sgemm(transA: true, m: outChannels, n: inChannels, k: m, a: dy, b: x.data, beta: 1, c: dw)
            return
        }
        if !columnsHoldInput {
            columns.resize([m, g.patchSize])
            g.gather(x.data, into: columns.data)
            columnsHoldInput = true
        }
        BLAS.sgemm(transA: true, m: outChannels, n: g.patchSize, k: m, a: dy, b: columns.data, beta: 1, c: dw)
    }

    /// The gradient with respect to the last forward's input (overwritten, owned by the layer).
    ///
    /// Stride 1: the adjoint is itself a stride-1 convolution of dY with the kernel flipped and transposed and
    /// the padding mirrored (k - 1 - p), so it is a gather plus one GEMM with inner size kh*kw*outC, and no
    /// scatter. Larger strides: dColumns = dY * W, then a scatter-add of the columns back onto the input.
    public func backwardInput(_ dOutput: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("backward before forward") }
        let g = geometry(x)
        precondition(dOutput.shape == output.shape, "gradient \(dOutput.shape) for output \(output.shape)")
        inputGradient.resize(like: x)
        let dx = inputGradient.data, dy = dOutput.data, w = store.value(weight)
        let kh = kernelHeight, kw = kernelWidth, inC = inChannels, outC = outChannels
        if isPointwise {
            BLAS.sgemm(m: g.rows, n: inC, k: outC, a: dy, b: w, c: dx)
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
            columns.resize([adjoint.rows, adjoint.patchSize])
            adjoint.gather(dy, into: columns.data)
            columnsHoldInput = false
            BLAS.sgemm(m: adjoint.rows, n: inC, k: adjoint.patchSize, a: columns.data, b: flipped, c: dx)
        } else {
            columns.resize([g.rows, g.patchSize])
            BLAS.sgemm(m: g.rows, n: g.patchSize, k: outC, a: dy, b: w, c: columns.data)
            columnsHoldInput = false
            inputGradient.zero()
            g.scatterAdd(columns.data, into: dx)
        }
        return inputGradient
    }
}
