/// Transposed 2-D convolution over NHWC activations (PyTorch's ConvTranspose2d without output_padding or
/// dilation), weight [inC, kh, kw, outC] (PyTorch's [in, out, kh, kw] permuted), bias [outC].
///
/// It is the adjoint of a Conv2D from the output to the input shape, and the weight layout makes each step one
/// GEMM on the im2col matrix of that convolution: forward columns = x * W then a scatter-add onto the output;
/// backward gathers dY's columns once and uses them for both dW += x^T * columns and dX = columns * W^T.
/// Output size: (H - 1) * stride - top - bottom + kh (and likewise for the width); negative padding grows it.
public final class ConvTranspose2D {
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
    private var input: Tensor?
    /// Whether `columns` holds the im2col matrix of the upstream gradient (shared by both backward halves).
    private var columnsHoldOutputGradient = false

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
        // PyTorch takes fan_in from dimension 1 of its [in, out, kh, kw] weight.
        let fanIn = outChannels * kernelHeight * kernelWidth
        weight = store.register(
            name + ".weight", shape: [inChannels, kernelHeight, kernelWidth, outChannels],
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

    /// The output shape for an input of shape [N, H, W, inC].
    public func outputShape(for inputShape: [Int]) -> [Int] {
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
    public func forward(_ x: Tensor) -> Tensor {
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
        columns.resize([g.rows, g.patchSize])
        BLAS.sgemm(m: g.rows, n: g.patchSize, k: inChannels, a: x.data, b: store.value(weight), c: columns.data)
        columnsHoldOutputGradient = false
        g.scatterAdd(columns.data, into: y)
        return output
    }

    /// Parameter gradients then the input gradient, for the upstream gradient `dOutput` of the last forward.
    public func backward(_ dOutput: Tensor) -> Tensor {
        backwardParameters(dOutput)
        return backwardInput(dOutput)
    }

    private func gatherOutputGradient(_ dOutput: Tensor, _ g: ConvolutionGeometry) {
        precondition(dOutput.shape == output.shape, "gradient \(dOutput.shape) for output \(output.shape)")
        columns.resize([g.rows, g.patchSize])
        g.gather(dOutput.data, into: columns.data)
        columnsHoldOutputGradient = true
    }

    /// Accumulates the weight and bias gradients (+=) into the store: dW += x^T * columns(dY).
    ///
    /// It gathers dY's column matrix, which `backwardInput` then reuses: call both with the same `dOutput`.
    public func backwardParameters(_ dOutput: Tensor) {
        guard let x = input else { preconditionFailure("backward before forward") }
        let g = geometry(x)
        gatherOutputGradient(dOutput, g)
        if let bias {
            Bias.accumulateGradient(
                dOutput.data, rows: dOutput.count / outChannels, channels: outChannels, into: store.gradient(bias))
        }
        BLAS.sgemm(
            transA: true, m: inChannels, n: g.patchSize, k: g.rows, a: x.data, b: columns.data, beta: 1,
            c: store.gradient(weight))
    }

    /// The gradient with respect to the last forward's input (overwritten, owned by the layer): a stride-s
    /// convolution of dY, dX = columns(dY) * W^T.
    public func backwardInput(_ dOutput: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("backward before forward") }
        let g = geometry(x)
        if !columnsHoldOutputGradient { gatherOutputGradient(dOutput, g) }
        inputGradient.resize(like: x)
        BLAS.sgemm(
            transB: true, m: g.rows, n: inChannels, k: g.patchSize, a: columns.data, b: store.value(weight),
            c: inputGradient.data)
        return inputGradient
    }
}
