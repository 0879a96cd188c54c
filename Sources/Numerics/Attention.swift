#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Causal multi-head self-attention over the positions of NHWC feature maps [N, H, W, C] in raster order.
///
/// Position i attends to positions j <= i, or j < i when `strict` (then the first position attends to nothing and
/// its attention output is zero). Weight layout, the same as torch.nn.MultiheadAttention's:
/// - `inputProjection` (name + ".qkv"): weight [3C, C], rows [W_q; W_k; W_v] (in_proj_weight), bias [3C];
/// - `outputProjection` (name + ".out"): weight [C, C] (out_proj.weight), bias [C];
/// - head h uses channels h*C/heads ..< (h+1)*C/heads of each of q, k and v; scores are q.k / sqrt(C/heads).
package final class CausalSelfAttention {
    package let channels: Int
    package let heads: Int
    package let strict: Bool
    package let inputProjection: Linear
    package let outputProjection: Linear
    /// Softmax weights [N, heads, T, T] of the last forward (T = H*W), zero above the causal limit.
    package let probabilities = Tensor(shape: [0])
    /// Per-head attention outputs, heads side by side: [N, H, W, C], the output projection's input.
    private let context = Tensor(shape: [0])
    private let qkvGradient = Tensor(shape: [0])
    private let scoreGradients = ThreadBuffers()
    private var qkv: Tensor?

    package init(_ store: ParameterStore, name: String, channels: Int, heads: Int, strict: Bool = false) {
        precondition(heads > 0 && channels % heads == 0, "\(channels) channels do not split into \(heads) heads")
        self.channels = channels
        self.heads = heads
        self.strict = strict
        inputProjection = Linear(store, name: name + ".qkv", inFeatures: channels, outFeatures: 3 * channels)
        outputProjection = Linear(store, name: name + ".out", inFeatures: channels, outFeatures: channels)
    }

    package func forward(_ x: Tensor) -> Tensor {
        precondition(x.shape.count == 4 && x.c == channels, "attention over \(channels) channels applied to \(x.shape)")
        let batch = x.n, t = x.h * x.w, c = channels, dh = c / heads
        let qkv = inputProjection.forward(x)
        self.qkv = qkv
        probabilities.resize([batch, heads, t, t])
        context.resize(x.shape)
        let scale = 1 / Float(dh).squareRoot()
        let strict = strict, heads = heads, probabilities = probabilities.data, contextData = context.data
        // Each (image, head) pair writes its own probabilities and its own slice of the context.
        ThreadPool.shared.run(pieces: batch * heads) { pair, _ in
            let n = pair / heads, h = pair % heads
            let q = qkv.data + n * t * 3 * c + h * dh, k = q + c, v = q + 2 * c
            let p = probabilities + pair * t * t
            BLAS.sgemm(transB: true, m: t, n: t, k: dh, alpha: scale, a: q, lda: 3 * c, b: k, ldb: 3 * c, c: p)
            for i in 0..<t {
                CausalSelfAttention.softmax(p + i * t, visible: strict ? i : i + 1, count: t)
            }
            BLAS.sgemm(m: t, n: dh, k: t, a: p, b: v, ldb: 3 * c, c: contextData + n * t * c + h * dh, ldc: c)
        }
        return outputProjection.forward(context)
    }

    /// Returns dL/dx and adds the gradients of both projections to the store.
    /// Hands back the last forward's activations (the softmax weights, the heads' outputs and both projections'
    /// outputs) once its backward is done, for a caller short of memory; the next forward allocates them again.
    package func releaseActivations() {
        probabilities.release()
        context.release()
        inputProjection.output.release()
        outputProjection.output.release()
    }

    package func backward(_ dOutput: Tensor) -> Tensor {
        guard let qkv else { preconditionFailure("attention backward before forward") }
        let dContext = outputProjection.backward(dOutput)
        let batch = context.n, t = context.h * context.w, c = channels, dh = c / heads
        let scale = 1 / Float(dh).squareRoot()
        qkvGradient.resize(qkv.shape)
        scoreGradients.prepare(count: t * t)
        let heads = heads, probabilities = probabilities.data, dQKV = qkvGradient.data
        // Each (image, head) pair writes its own slices of dQ, dK and dV.
        ThreadPool.shared.run(pieces: batch * heads) { pair, thread in
            let n = pair / heads, h = pair % heads, ds = scoreGradients[thread]
            let q = qkv.data + n * t * 3 * c + h * dh, k = q + c, v = q + 2 * c
            let dq = dQKV + n * t * 3 * c + h * dh, dk = dq + c, dv = dq + 2 * c
            let dO = dContext.data + n * t * c + h * dh
            let p = probabilities + pair * t * t
            // dP = dO V^T, then through the softmax: dS_ij = P_ij (dP_ij - sum_l P_il dP_il).
            BLAS.sgemm(transB: true, m: t, n: t, k: dh, a: dO, lda: c, b: v, ldb: 3 * c, c: ds)
            for i in 0..<t {
                let pr = p + i * t, dr = ds + i * t
                var dot: Float = 0
                for j in 0..<t { dot += pr[j] * dr[j] }
                for j in 0..<t { dr[j] = pr[j] * (dr[j] - dot) }
            }
            BLAS.sgemm(transA: true, m: t, n: dh, k: t, a: p, b: dO, ldb: c, c: dv, ldc: 3 * c)
            BLAS.sgemm(m: t, n: dh, k: t, alpha: scale, a: ds, b: k, ldb: 3 * c, c: dq, ldc: 3 * c)
            BLAS.sgemm(transA: true, m: t, n: dh, k: t, alpha: scale, a: ds, b: q, ldb: 3 * c, c: dk, ldc: 3 * c)
        }
        return inputProjection.backward(qkvGradient)
    }

    /// Softmax over the first `visible` entries of a row with max subtraction; the rest of the row becomes zero.
    static func softmax(_ row: UnsafeMutablePointer<Float>, visible: Int, count: Int) {
        var largest = -Float.infinity
        for j in 0..<visible { largest = max(largest, row[j]) }
        var sum: Float = 0
        for j in 0..<visible {
            let e = expf(row[j] - largest)
            row[j] = e
            sum += e
        }
        let inverse = 1 / sum
        for j in 0..<visible { row[j] *= inverse }
        for j in visible..<count { row[j] = 0 }
    }
}
