/// A fully connected layer y = x W^T + b over the last axis: [..., in] -> [..., out], weight [out, in], bias [out]
/// (PyTorch's nn.Linear layout and initialisation); on NHWC feature maps it is a 1x1 convolution.
package final class Linear {
    package let inFeatures: Int
    package let outFeatures: Int
    package let weight: Parameter
    package let bias: Parameter?
    package let output = Tensor(shape: [0])
    package let inputGradient = Tensor(shape: [0])
    private let store: ParameterStore
    /// The last forward's input, read again by backward for the weight gradient; callers must not change it between.
    private var input: Tensor?

    package init(_ store: ParameterStore, name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        self.store = store
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = store.register(
            name + ".weight", shape: [outFeatures, inFeatures], initializer: .pytorchDefault(fanIn: inFeatures))
        self.bias = bias
            ? store.register(name + ".bias", shape: [outFeatures], initializer: .pytorchDefault(fanIn: inFeatures))
            : nil
    }

    package func forward(_ x: Tensor) -> Tensor {
        precondition(x.c == inFeatures, "linear layer with \(inFeatures) inputs applied to \(x.shape)")
        input = x
        let rows = x.rowCount, n = outFeatures
        var shape = x.shape
        shape[shape.count - 1] = n
        output.resize(shape)
        let y = output.data
        if let bias {
            // The bias rows serve as C, so the product adds onto them (beta = 1).
            let b = store.value(bias)
            for r in 0..<rows { (y + r * n).update(from: b, count: n) }
        }
        BLAS.sgemm(
            transB: true, m: rows, n: n, k: inFeatures, a: x.data, b: store.value(weight),
            beta: bias == nil ? 0 : 1, c: y)
        return output
    }

    /// Returns dL/dx and adds dL/dW and dL/db to the store's gradients.
    package func backward(_ dOutput: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("linear backward before forward") }
        let rows = x.rowCount, n = outFeatures, k = inFeatures
        precondition(dOutput.count == rows * n && dOutput.c == n, "gradient \(dOutput.shape) for input \(x.shape)")
        let dy = dOutput.data
        inputGradient.resize(like: x)
        BLAS.sgemm(m: rows, n: k, k: n, a: dy, b: store.value(weight), c: inputGradient.data)
        BLAS.sgemm(transA: true, m: n, n: k, k: rows, a: dy, b: x.data, beta: 1, c: store.gradient(weight))
        if let bias {
            // Split over features, each summed over the rows in order as on one thread.
            let db = store.gradient(bias)
            ThreadPool.shared.forEachRange(count: n, grain: 16) { features, _ in
                for r in 0..<rows {
                    let row = dy + r * n
                    for j in features { db[j] += row[j] }
                }
            }
        }
        return inputGradient
    }
}
