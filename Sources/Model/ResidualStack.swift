import Numerics

/// ResBlock(c, r) of VQ-VAE-2: x + Conv1x1(r->c)(ReLU(Conv3x3(c->r)(ReLU(x)))).
final class ResidualBlock: SequentialLayer {
    private let branch: LayerSequence
    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])

    init(_ store: ParameterStore, name: String, channels: Int, residualChannels: Int) {
        branch = LayerSequence([
            Activation(.relu),
            Conv2D(store, name: name + ".conv1", inChannels: channels, outChannels: residualChannels, kernel: 3,
                   padding: 1),
            Activation(.relu),
            Conv2D(store, name: name + ".conv2", inChannels: residualChannels, outChannels: channels, kernel: 1),
        ])
    }

    /// Backward needs neither x nor the sum: the branch starts with an activation, which keeps its own output.
    var readsInputInBackward: Bool { false }
    var readsOutputInBackward: Bool { false }

    func forward(_ x: Tensor) -> Tensor {
        let r = branch.forward(x)
        output.resize(like: x)
        let a = x.data, b = r.data, y = output.data
        for i in 0..<x.count { y[i] = a[i] + b[i] }
        r.release()
        return output
    }

    func backward(_ dOutput: Tensor) -> Tensor {
        // The identity path's gradient is dOutput itself; the branch's is added to it.
        let dBranch = branch.backward(dOutput)!
        inputGradient.resize(like: dOutput)
        let a = dOutput.data, b = dBranch.data, dx = inputGradient.data
        for i in 0..<dOutput.count { dx[i] = a[i] + b[i] }
        dBranch.release()
        return inputGradient
    }
}

/// `count` residual blocks in a row (the ResBlocks of every encoder and decoder).
final class ResidualStack: SequentialLayer {
    private let blocks: LayerSequence

    init(_ store: ParameterStore, name: String, channels: Int, residualChannels: Int, count: Int) {
        blocks = LayerSequence((0..<count).map {
            ResidualBlock(store, name: "\(name).\($0)", channels: channels, residualChannels: residualChannels)
        })
    }

    var readsInputInBackward: Bool { false }
    var readsOutputInBackward: Bool { false }

    func forward(_ x: Tensor) -> Tensor { blocks.forward(x) }

    func backward(_ dOutput: Tensor) -> Tensor { blocks.backward(dOutput)! }
}
