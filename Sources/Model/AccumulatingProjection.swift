import Numerics

/// A bias-free 1x1 projection target += x W^T (weight [out, in]: PyTorch's Linear layout and initialisation)
/// for terms that only ever add onto another tensor: forward multiplies straight into the target and backward
/// can add its input gradient into the caller's, so the projection keeps no output tensor of its own.
final class AccumulatingProjection {
    let inFeatures: Int
    let outFeatures: Int
    let weight: Parameter
    private let store: ParameterStore
    private let inputGradient = Tensor(shape: [0])
    /// The last forward's input, read again by backward for the weight gradient.
    private var input: Tensor?

    init(_ store: ParameterStore, name: String, inFeatures: Int, outFeatures: Int) {
        self.store = store
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = store.register(
            name + ".weight", shape: [outFeatures, inFeatures], initializer: .pytorchDefault(fanIn: inFeatures))
    }

    /// target += x W^T over the last axis; `x` must stay unchanged until backward.
    func forward(_ x: Tensor, addingTo target: Tensor) {
        let rows = x.count / inFeatures
        precondition(x.c == inFeatures && target.c == outFeatures && target.count == rows * outFeatures,
                     "projection \(inFeatures) -> \(outFeatures) from \(x.shape) onto \(target.shape)")
        input = x
        BLAS.sgemm(
            transB: true, m: rows, n: outFeatures, k: inFeatures, a: x.data, b: store.value(weight), beta: 1,
            c: target.data)
    }

    /// Adds dW += dY^T x and returns the input gradient dY W (layer-owned).
    func backward(_ dOutput: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("projection backward before forward") }
        inputGradient.resize(like: x)
        backward(dOutput, inputGradient: inputGradient, beta: 0)
        return inputGradient
    }

    /// Adds dW += dY^T x and target += dY W.
    func backward(_ dOutput: Tensor, addingInputGradientTo target: Tensor) {
        backward(dOutput, inputGradient: target, beta: 1)
    }

    private func backward(_ dOutput: Tensor, inputGradient dx: Tensor, beta: Float) {
        guard let x = input else { preconditionFailure("projection backward before forward") }
        let rows = x.count / inFeatures
        precondition(dOutput.count == rows * outFeatures && dx.count == x.count,
                     "projection gradients \(dOutput.shape), \(dx.shape) for input \(x.shape)")
        BLAS.sgemm(
            m: rows, n: inFeatures, k: outFeatures, a: dOutput.data, b: store.value(weight), beta: beta, c: dx.data)
        BLAS.sgemm(
            transA: true, m: outFeatures, n: inFeatures, k: rows, a: dOutput.data, b: x.data, beta: 1,
            c: store.gradient(weight))
    }
}
