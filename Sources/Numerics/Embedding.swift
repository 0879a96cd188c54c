/// A learned class embedding [numClasses, C] added at every position of an NHWC feature map [N, H, W, C]: the
/// class conditioning of the gated PixelCNN priors.
package final class ClassEmbedding {
    package let numClasses: Int
    package let channels: Int
    package let weight: Parameter
    package let output = Tensor(shape: [0])
    package let inputGradient = Tensor(shape: [0])
    private let store: ParameterStore
    private var labels: [Int32] = []

    package init(_ store: ParameterStore, name: String, numClasses: Int, channels: Int) {
        self.store = store
        self.numClasses = numClasses
        self.channels = channels
        weight = store.register(name + ".weight", shape: [numClasses, channels], initializer: .normal(std: 1))
    }

    /// y[n, h, w, :] = x[n, h, w, :] + E[labels[n], :].
    package func forward(_ x: Tensor, labels: [Int32]) -> Tensor {
        precondition(x.c == channels, "class embedding of \(channels) channels added to \(x.shape)")
        precondition(labels.count == x.shape[0], "\(labels.count) labels for a batch of \(x.shape[0])")
        self.labels.removeAll(keepingCapacity: true)
        self.labels.append(contentsOf: labels)
        output.resize(like: x)
        let c = channels, positions = x.shape[0] == 0 ? 0 : x.rowCount / x.shape[0]
        let table = store.value(weight), src = x.data, dst = output.data
        for n in 0..<labels.count {
            let label = Int(labels[n])
            precondition(label >= 0 && label < numClasses, "class \(label) outside 0..<\(numClasses)")
            let e = table + label * c
            for p in 0..<positions {
                let offset = (n * positions + p) * c
                for j in 0..<c { dst[offset + j] = src[offset + j] + e[j] }
            }
        }
        return output
    }

    /// Returns dL/dx (a copy of dL/dy) and adds each sample's gradient, summed over positions, to its class's row.
    package func backward(_ dOutput: Tensor) -> Tensor {
        precondition(dOutput.shape == output.shape, "gradient \(dOutput.shape) for output \(output.shape)")
        inputGradient.copy(from: dOutput)
        let labels = self.labels
        let c = channels, positions = labels.isEmpty ? 0 : dOutput.rowCount / labels.count
        let dy = dOutput.data, dTable = store.gradient(weight)
        for n in 0..<labels.count {
            let de = dTable + Int(labels[n]) * c
            for p in 0..<positions {
                let row = dy + (n * positions + p) * c
                for j in 0..<c { de[j] += row[j] }
            }
        }
        return inputGradient
    }
}

/// A code embedding [K, D]: integer code maps [N, H, W] to feature maps [N, H, W, D] (the priors' input layer).
package final class CodeEmbedding {
    package let numCodes: Int
    package let dimension: Int
    package let weight: Parameter
    package let output = Tensor(shape: [0])
    private let store: ParameterStore
    private var codes: [Int32] = []

    package init(_ store: ParameterStore, name: String, numCodes: Int, dimension: Int) {
        self.store = store
        self.numCodes = numCodes
        self.dimension = dimension
        weight = store.register(name + ".weight", shape: [numCodes, dimension], initializer: .normal(std: 1))
    }

    /// `codes` holds the code map of `shape` (for example [N, H, W]) in row-major order.
    package func forward(_ codes: [Int32], shape: [Int]) -> Tensor {
        precondition(codes.count == shape.reduce(1, *), "\(codes.count) codes for shape \(shape)")
        self.codes.removeAll(keepingCapacity: true)
        self.codes.append(contentsOf: codes)
        output.resize(shape + [dimension])
        let d = dimension, table = store.value(weight), dst = output.data
        for i in 0..<codes.count {
            let code = Int(codes[i])
            precondition(code >= 0 && code < numCodes, "code \(code) outside 0..<\(numCodes)")
            (dst + i * d).update(from: table + code * d, count: d)
        }
        return output
    }

    /// The table's row of `code` (D values): one lookup without the layer's output buffer, for sampling.
    package func row(_ code: Int32) -> UnsafePointer<Float> {
        precondition(code >= 0 && Int(code) < numCodes, "code \(code) outside 0..<\(numCodes)")
        return UnsafePointer(store.value(weight) + Int(code) * dimension)
    }

    /// Adds dL/dy to the rows of the codes looked up; integer inputs have no gradient.
    package func backward(_ dOutput: Tensor) {
        precondition(dOutput.shape == output.shape, "gradient \(dOutput.shape) for output \(output.shape)")
        let codes = self.codes
        let d = dimension, dy = dOutput.data, dTable = store.gradient(weight)
        for i in 0..<codes.count {
            let de = dTable + Int(codes[i]) * d, row = dy + i * d
            for j in 0..<d { de[j] += row[j] }
        }
    }
}
