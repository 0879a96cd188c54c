/// The keys and values of the positions sampled so far, for causal self-attention one position at a time: each
/// position's key and value are computed once, when it is reached, and read by every later position.
package final class AttentionCache {
    /// Keys and values [N, T, C] for T positions in raster order; rows from `count` on are not yet written.
    package let keys = Tensor(shape: [0])
    package let values = Tensor(shape: [0])
    package fileprivate(set) var count = 0
    fileprivate let scores = Tensor(shape: [0])
    fileprivate let context = Tensor(shape: [0])

    package init() {}

    /// Empties the cache for `batch` samples of `positions` positions of `channels` channels.
    package func reset(batch: Int, positions: Int, channels: Int) {
        keys.resize([batch, positions, channels])
        values.resize([batch, positions, channels])
        count = 0
    }
}

extension CausalSelfAttention {
    /// Sampling: the attention output [N, 1, 1, C] at the next position of `cache` for x [N, 1, 1, C] there; its
    /// key and value join the cache. Position p attends to the cached positions before it and to itself (only
    /// to those before it when `strict`), as the full-map forward does. Owned by the output projection.
    package func forwardStep(_ x: Tensor, cache: AttentionCache) -> Tensor {
        let batch = x.n, c = channels, dh = c / heads, p = cache.count, positions = cache.keys.h
        precondition(x.count == batch * c && cache.keys.n == batch && cache.keys.c == c && p < positions,
                     "attention step at position \(p) of \(cache.keys.shape) for \(x.shape)")
        let qkv = inputProjection.forward(x)
        let visible = strict ? p : p + 1
        cache.scores.resize([max(visible, 1)])
        cache.context.resize([batch, 1, 1, c])
        let scale = 1 / Float(dh).squareRoot()
        for n in 0..<batch {
            let q = qkv.data + n * 3 * c
            let keys = cache.keys.data + n * positions * c, values = cache.values.data + n * positions * c
            (keys + p * c).update(from: q + c, count: c)
            (values + p * c).update(from: q + 2 * c, count: c)
            for h in 0..<heads {
                let out = cache.context.data + n * c + h * dh
                guard visible > 0 else {
                    out.update(repeating: 0, count: dh)
                    continue
                }
                let s = cache.scores.data
                BLAS.sgemm(
                    transB: true, m: 1, n: visible, k: dh, alpha: scale, a: q + h * dh, lda: 3 * c, b: keys + h * dh,
                    ldb: c, c: s, ldc: visible)
                CausalSelfAttention.softmax(s, visible: visible, count: visible)
                BLAS.sgemm(m: 1, n: dh, k: visible, a: s, lda: visible, b: values + h * dh, ldb: c, c: out, ldc: dh)
            }
        }
        cache.count += 1
        return outputProjection.forward(cache.context)
    }
}
