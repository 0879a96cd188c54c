/// Vector quantisation against one codebook [K, D]: nearest-code search, code gather, the straight-through
/// gradient and the commitment loss beta * mean((z - sg[e])^2).
package final class VectorQuantizer {
    package let numCodes: Int
    package let dimension: Int
    /// The quantised vectors e[index] of the last forward, shaped like its input.
    package let quantized = Tensor(shape: [0])
    package let inputGradient = Tensor(shape: [0])
    /// The code chosen for each input vector by the last search.
    package private(set) var indices: [Int32] = []
    /// Dot products of one block of inputs with every code, then their distances.
    /// Each thread's distances of one block of rows to every code.
    private let distances = ThreadBuffers()
    private let codeNorms = Tensor(shape: [0])
    private var input: Tensor?

    /// Input vectors per GEMM in the search: bounds the distance buffer at rowsPerBlock x K.
    static let rowsPerBlock = 256

    package init(numCodes: Int, dimension: Int) {
        self.numCodes = numCodes
        self.dimension = dimension
    }

    /// For each vector z of `z` ([..., D]) the index of the code minimising |z|^2 - 2 z.e + |e|^2 (ties go to the
    /// lowest index); `codebook` holds K x D values.
    @discardableResult
    package func search(_ z: Tensor, codebook: UnsafePointer<Float>) -> [Int32] {
        precondition(z.c == dimension, "search with \(dimension)-dimensional codes on \(z.shape)")
        let k = numCodes, d = dimension, rows = z.rowCount
        codeNorms.resize([k])
        let norms = codeNorms.data
        for i in 0..<k {
            let e = codebook + i * d
            var s: Float = 0
            for j in 0..<d { s += e[j] * e[j] }
            norms[i] = s
        }
        distances.prepare(count: VectorQuantizer.rowsPerBlock * k)
        // Taking the array out of the property keeps its storage uniquely referenced, so it is reused, not copied.
        var chosen: [Int32] = []
        swap(&chosen, &indices)
        chosen.removeAll(keepingCapacity: true)
        chosen.append(contentsOf: repeatElement(0, count: rows))
        let zData = UnsafePointer(z.data), codeNorm = UnsafePointer(norms)
        // Blocks of rows are independent: each thread searches its own into its own distance buffer.
        chosen.withUnsafeMutableBufferPointer { chosen in
            let blocks = (rows + VectorQuantizer.rowsPerBlock - 1) / VectorQuantizer.rowsPerBlock
            ThreadPool.shared.run(pieces: blocks) { blockIndex, thread in
                let start = blockIndex * VectorQuantizer.rowsPerBlock
                let block = min(VectorQuantizer.rowsPerBlock, rows - start)
                let zb = zData + start * d, dist = distances[thread]
                BLAS.sgemm(transB: true, m: block, n: k, k: d, alpha: -2, a: zb, b: codebook, c: dist)
                for r in 0..<block {
                    let v = zb + r * d, row = dist + r * k
                    var zNorm: Float = 0
                    for j in 0..<d { zNorm += v[j] * v[j] }
                    var best = 0
                    var bestDistance = Float.infinity
                    for i in 0..<k {
                        let distance = zNorm + row[i] + codeNorm[i]
                        if distance < bestDistance {
                            bestDistance = distance
                            best = i
                        }
                    }
                    chosen[start + r] = Int32(best)
                }
            }
        }
        indices = chosen
        return chosen
    }

    /// Writes codebook rows `indices` into `output`, resized to `shape` + [D].
    package static func gather(
        codebook: UnsafePointer<Float>, dimension: Int, indices: [Int32], shape: [Int], into output: Tensor
    ) {
        precondition(indices.count == shape.reduce(1, *), "\(indices.count) indices for shape \(shape)")
        output.resize(shape + [dimension])
        let dst = output.data
        for i in 0..<indices.count {
            (dst + i * dimension).update(from: codebook + Int(indices[i]) * dimension, count: dimension)
        }
    }

    /// Searches and gathers; keeps `z` (callers must not change it before backward) for the commitment loss.
    package func forward(_ z: Tensor, codebook: UnsafePointer<Float>) -> Tensor {
        input = z
        let chosen = search(z, codebook: codebook)
        VectorQuantizer.gather(
            codebook: codebook, dimension: dimension, indices: chosen, shape: Array(z.shape.dropLast()), into: quantized)
        return quantized
    }

    /// mean((z - e)^2) over every element of the last forward, accumulated in Double.
    package func commitmentLoss() -> Float {
        guard let z = input else { preconditionFailure("commitment loss before forward") }
        let a = z.data, e = quantized.data
        var sum = 0.0
        for i in 0..<z.count {
            let diff = a[i] - e[i]
            sum += Double(diff * diff)
        }
        return Float(sum / Double(max(z.count, 1)))
    }

    /// dL/dz: the quantised output's gradient passed straight through, plus `commitment` (beta) times the gradient
    /// of the commitment loss, 2 (z - e) / count.
    package func backward(_ dQuantized: Tensor, commitment beta: Float) -> Tensor {
        guard let z = input else { preconditionFailure("quantiser backward before forward") }
        precondition(dQuantized.shape == quantized.shape, "gradient \(dQuantized.shape) for \(quantized.shape)")
        inputGradient.resize(like: z)
        let scale = 2 * beta / Float(max(z.count, 1))
        let a = z.data, e = quantized.data, dq = dQuantized.data, dz = inputGradient.data
        for i in 0..<z.count { dz[i] = dq[i] + scale * (a[i] - e[i]) }
        return inputGradient
    }
}
