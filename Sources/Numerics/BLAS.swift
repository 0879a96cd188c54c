import COpenBLAS

#if canImport(Glibc)
import Glibc
#endif

/// Single-precision matrix products on OpenBLAS, row-major.
public enum BLAS {
    /// C = alpha * op(A) * op(B) + beta * C, with op(A) of shape [m, k], op(B) [k, n], C [m, n], all row-major.
    /// `lda`, `ldb`, `ldc` default to the packed row lengths of the stored (untransposed) matrices.
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        // One predictable branch per product: the timer costs nothing measurable unless a benchmark enables it.
        let start = SgemmTimer.isEnabled ? SgemmTimer.now() : 0
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha,
            a, blasint(lda ?? (transA ? m : k)),
            b, blasint(ldb ?? (transB ? k : n)),
            beta, c, blasint(ldc ?? n))
        if SgemmTimer.isEnabled { SgemmTimer.addSgemm(SgemmTimer.now() - start) }
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
    }

    /// Sets OpenBLAS's thread count (one per rank when every core runs a rank).
    public static func setThreadCount(_ count: Int) { openblas_set_num_threads(Int32(count)) }

    /// The build configuration string ("OpenBLAS 0.3.21 DYNAMIC_ARCH ...").
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// The kernel family picked at run time ("Zen", "Haswell", ...).
    public static var coreName: String { String(cString: openblas_get_corename()) }
}

/// Wall time spent inside `BLAS.sgemm`, and inside matrix work as a whole (convolution layers with their gathers,
/// scatters and Winograd transforms, and sgemm calls made elsewhere), counted only while a benchmark enables it
/// (single-threaded use only). What is left of a step is its element-wise work.
public enum SgemmTimer {
    nonisolated(unsafe) public static var isEnabled = false
    /// Seconds inside `BLAS.sgemm` since the last `reset`.
    nonisolated(unsafe) public static var seconds = 0.0
    /// Seconds inside convolution layers or `BLAS.sgemm` since the last `reset`, each instant counted once.
    nonisolated(unsafe) public static var matrixSeconds = 0.0
    /// Convolution passes under way (a layer's backward runs its two passes inside one).
    nonisolated(unsafe) public static var convolutionDepth = 0

    public static func reset() {
        seconds = 0
        matrixSeconds = 0
    }

    @inlinable
    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Adds an sgemm call's time.
    @inlinable
    public static func addSgemm(_ elapsed: Double) {
        seconds += elapsed
        if convolutionDepth == 0 { matrixSeconds += elapsed }
    }

    /// Starts timing a convolution pass; returns what `endConvolution` needs (0 while disabled).
    @inlinable
    public static func beginConvolution() -> Double {
        guard isEnabled else { return 0 }
        convolutionDepth += 1
        return now()
    }

    /// Ends the pass begun with `start`.
    @inlinable
    public static func endConvolution(_ start: Double) {
        guard isEnabled, convolutionDepth > 0 else { return }
        convolutionDepth -= 1
        if convolutionDepth == 0 { matrixSeconds += now() - start }
    }
}
