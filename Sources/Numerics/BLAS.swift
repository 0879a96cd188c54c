import COpenBLAS

/// Single-precision matrix products on OpenBLAS, row-major.
package enum BLAS {
    /// C = alpha * op(A) * op(B) + beta * C, with op(A) of shape [m, k], op(B) [k, n], C [m, n], all row-major.
    /// `lda`, `ldb`, `ldc` default to the packed row lengths of the stored (untransposed) matrices.
    ///
    /// A large product is computed as a fixed grid of smaller ones (`GEMMPieces`) on the rank's thread pool, each
    /// one single-threaded OpenBLAS call over the whole inner dimension. OpenBLAS's own threads are not used:
    /// they change the result with their number (docs/PERFORMANCE.md), and these pieces do not.
    package static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
        let pieces = GEMMPieces(m: m, n: n, k: k)
        guard pieces.count > 1 else {
            sgemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        if pieces.axis == .inner {
            sgemmOverInnerPieces(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pieces)
            return
        }
        ThreadPool.shared.run(pieces: pieces.count) { piece, _ in
            let part = pieces.range(piece)
            if pieces.axis == .rows {
                // Rows of op(A) are rows of A, or columns of a transposed A.
                sgemmCall(
                    transA, transB, part.count, n, k, alpha, a + part.lowerBound * (transA ? 1 : lda), lda, b, ldb,
                    beta, c + part.lowerBound * ldc, ldc)
            } else {
                sgemmCall(
                    transA, transB, m, part.count, k, alpha, a, lda, b + part.lowerBound * (transB ? ldb : 1), ldb,
                    beta, c + part.lowerBound, ldc)
            }
        }
    }

    /// A product with a small result and a long inner dimension (a weight gradient summed over positions): each
    /// piece of the inner dimension goes to a partial result of its own, and the partials are added in order.
    private static func sgemmOverInnerPieces(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ pieces: GEMMPieces
    ) {
        let size = m * n
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: pieces.count * size)
        defer { partials.deallocate() }
        ThreadPool.shared.run(pieces: pieces.count) { piece, _ in
            let part = pieces.range(piece)
            // Inner indices are columns of op(A) (rows of a transposed A) and rows of op(B).
            sgemmCall(
                transA, transB, m, n, part.count, alpha, a + part.lowerBound * (transA ? lda : 1), lda,
                b + part.lowerBound * (transB ? 1 : ldb), ldb, 0, partials + piece * size, n)
        }
        ThreadPool.shared.forEachRange(count: m, grain: max(1, 16_384 / max(n, 1))) { rows, _ in
            for i in rows {
                let row = c + i * ldc
                for j in 0..<n {
                    var sum = partials[i * n + j]
                    for piece in 1..<pieces.count { sum += partials[piece * size + i * n + j] }
                    row[j] = beta == 0 ? sum : beta * row[j] + sum
                }
            }
        }
    }

    private static func sgemmCall(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// The number of threads OpenBLAS uses for one call.
    package static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
    }

    /// Sets OpenBLAS's thread count (one per rank when every core runs a rank).
    package static func setThreadCount(_ count: Int) { openblas_set_num_threads(Int32(count)) }

    /// How this OpenBLAS was built to run: sequential, with its own pthreads, or with OpenMP.
    package static var parallelMode: ParallelMode { ParallelMode(rawValue: Int(openblas_get_parallel())) ?? .sequential }

    /// OpenBLAS's build mode (`openblas_get_parallel`).
    package enum ParallelMode: Int, Sendable {
        case sequential = 0
        case pthreads = 1
        case openMP = 2

        /// What `vqvae2 env` prints.
        package var name: String {
            switch self {
            case .sequential: "sequential"
            case .pthreads: "pthreads"
            case .openMP: "OpenMP"
            }
        }
    }

    /// The build configuration string ("OpenBLAS 0.3.21 DYNAMIC_ARCH ...").
    package static var configuration: String { String(cString: openblas_get_config()) }

    /// The kernel family picked at run time ("Zen", "Haswell", ...).
    package static var coreName: String { String(cString: openblas_get_corename()) }
}

/// The fixed grid of smaller products that one large sgemm is computed as: its pieces depend on the shape alone,
/// so the result is the same whatever the number of threads that share them.
struct GEMMPieces {
    /// Which dimension is cut: rows or columns of the result, or the inner dimension (partial results).
    enum Axis { case rows, columns, inner }
    let axis: Axis
    let count: Int
    /// Rows (or columns) per piece, a multiple of 16 so that pieces start on whole cache lines.
    private let step: Int
    private let total: Int

    /// Products below this many multiply-adds are one call: splitting would cost more than it shares.
    static let smallest = 1 << 20
    /// No piece is thinner than this, so that OpenBLAS's packing of the shared operand stays a small overhead.
    static let thinnest = 128
    /// The shortest piece of an inner dimension: each costs a partial result of the product's size.
    static let deepest = 512
    /// Enough pieces for 16 threads per rank.
    static let most = 16

    init(m: Int, n: Int, k: Int) {
        let work = m * n * k
        if work >= GEMMPieces.smallest && m >= 2 * GEMMPieces.thinnest {
            axis = .rows
            total = m
        } else if work >= GEMMPieces.smallest && n >= 2 * GEMMPieces.thinnest {
            axis = .columns
            total = n
        } else if work >= GEMMPieces.smallest && k >= 2 * GEMMPieces.deepest {
            axis = .inner
            total = k
        } else {
            axis = .rows
            total = m
            step = max(m, 1)
            count = 1
            return
        }
        let wanted = min(GEMMPieces.most, total / (axis == .inner ? GEMMPieces.deepest : GEMMPieces.thinnest))
        step = ((total + wanted - 1) / wanted + 15) & ~15
        count = (total + step - 1) / step
    }

    func range(_ piece: Int) -> Range<Int> { piece * step..<min(total, (piece + 1) * step) }
}
