import COpenBLAS

/// Single-precision matrix products on OpenBLAS, row-major.
package enum BLAS {
    /// C = alpha * op(A) * op(B) + beta * C, with op(A) of shape [m, k], op(B) [k, n], C [m, n], all row-major.
    /// `lda`, `ldb`, `ldc` default to the packed row lengths of the stored (untransposed) matrices.
    @inlinable
    package static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha,
            a, blasint(lda ?? (transA ? m : k)),
            b, blasint(ldb ?? (transB ? k : n)),
            beta, c, blasint(ldc ?? n))
    }

    /// The number of threads OpenBLAS uses for one call.
    package static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
    }

    /// Sets OpenBLAS's thread count (one per rank when every core runs a rank).
    package static func setThreadCount(_ count: Int) { openblas_set_num_threads(Int32(count)) }

    /// The build configuration string ("OpenBLAS 0.3.21 DYNAMIC_ARCH ...").
    package static var configuration: String { String(cString: openblas_get_config()) }

    /// The kernel family picked at run time ("Zen", "Haswell", ...).
    package static var coreName: String { String(cString: openblas_get_corename()) }
}
