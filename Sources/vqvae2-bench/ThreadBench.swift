import ArgumentParser
import COpenBLAS
import CSgemmClock
import Foundation
import Numerics

/// `vqvae2-bench threads`: the rank's thread pool against OpenBLAS's own threads.
struct ThreadBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "threads",
        abstract: "The rank's thread pool against OpenBLAS's threads: speed, identical results, and their spinning.",
        discussion: """
            Four measurements, each the median of --repeats: (1) one sgemm, on OpenBLAS's 1 and N threads and on \
            the pool's 1 and N threads (BLAS.sgemm in pieces), with the number of result elements that differ \
            from the 1-thread result; (2) the pool's cost per loop (N pieces that do nothing); (3) an element-wise \
            loop on the pool right after an sgemm on OpenBLAS's N threads, whose workers then spin, against the \
            same loop after the pool's own sgemm; (4) the same element-wise loop alone. Run it with \
            OPENBLAS_NUM_THREADS unset or at least N, on an otherwise idle machine.
            """)

    @Option(help: "Threads for the pool and for OpenBLAS.")
    var threads = 2

    @Option(help: "Side of the square sgemm.")
    var size = 1024

    @Option(help: "Floats in the element-wise loop.")
    var elements = 4_000_000

    @Option(help: "Timed repetitions (the median is reported).")
    var repeats = 9

    func run() throws {
        let n = size, count = n * n
        let a = Tensor(shape: [count]), b = Tensor(shape: [count])
        let random = CounterRandom(seed: 3, keys: [0])
        for i in 0..<count {
            a.data[i] = random.uniform(UInt64(i)) - 0.5
            b.data[i] = random.uniform(UInt64(count + i)) - 0.5
        }
        let flops = 2 * Double(n * n * n)

        // OpenBLAS's threads are measured on a direct call: BLAS.sgemm would cut the product into pieces first.
        func product(pool: Int, blas: Int) -> (seconds: Double, result: [Float]) {
            ThreadPool.shared.configure(threads: pool)
            BLAS.setThreadCount(blas)
            let c = Tensor(shape: [count])
            let seconds = median((0..<repeats).map { _ in
                time { blas > 1 ? openBLAS(n, a.data, b.data, c.data) : BLAS.sgemm(m: n, n: n, k: n, a: a.data, b: b.data, c: c.data) }
            })
            return (seconds, c.array)
        }
        let reference = product(pool: 1, blas: 1)
        let theirs = product(pool: 1, blas: threads)
        let ours = product(pool: threads, blas: 1)
        func differing(_ x: [Float]) -> Int { zip(x, reference.result).filter { $0.bitPattern != $1.bitPattern }.count }
        print("OpenBLAS \(BLAS.coreName) (\(BLAS.parallelMode.name) build); \(threads) threads; sgemm \(n)^3")
        print(String(format: "| sgemm on | GFLOP/s | speed-up | elements unlike 1 thread |\n|---|---:|---:|---:|"))
        for (name, run) in [("1 thread", reference), ("OpenBLAS, \(threads) threads", theirs),
                            ("pool, \(threads) threads", ours)] {
            print(String(format: "| %@ | %.1f | %.2fx | %d of %d |", name, flops / run.seconds / 1e9,
                         reference.seconds / run.seconds, differing(run.result), count))
        }

        // (2) The pool's own cost: one loop of `threads` empty pieces.
        ThreadPool.shared.configure(threads: threads)
        BLAS.setThreadCount(1)
        let loops = 2000
        let dispatch = median((0..<repeats).map { _ in
            time { for _ in 0..<loops { ThreadPool.shared.run(pieces: threads) { _, _ in } } }
        }) / Double(loops)
        print(String(format: "pool: %.1f us per loop of %d empty pieces", dispatch * 1e6, threads))

        // (3), (4): an element-wise loop after each kind of sgemm, and alone.
        let x = Tensor(shape: [elements]), y = Tensor(shape: [elements])
        func elementwise() -> Double {
            time {
                let xs = x.data, ys = y.data
                ThreadPool.shared.forEachRange(count: elements) { range, _ in
                    for i in range { ys[i] = ys[i] * 0.5 + xs[i] }
                }
            }
        }
        let small = 512
        func afterProduct(blas: Int) -> Double {
            BLAS.setThreadCount(blas)
            let c = Tensor(shape: [small * small])
            return median((0..<repeats).map { _ in
                if blas > 1 {
                    openBLAS(small, a.data, b.data, c.data)
                } else {
                    BLAS.sgemm(m: small, n: small, k: small, a: a.data, b: b.data, c: c.data)
                }
                return elementwise()
            })
        }
        let afterTheirs = afterProduct(blas: threads)
        let afterOurs = afterProduct(blas: 1)
        let alone = median((0..<repeats).map { _ in usleep(200_000); return elementwise() })
        print(String(format: "element-wise loop of %d floats on the pool of %d: alone %.2f ms, right after the pool's sgemm %.2f ms, right after OpenBLAS's %d-thread sgemm %.2f ms (%.2fx)",
                     elements, threads, alone * 1e3, afterOurs * 1e3, threads, afterTheirs * 1e3, afterTheirs / afterOurs))
        print("RESULT threads=\(threads) blas_speedup=\(fmt(reference.seconds / theirs.seconds, 2)) pool_speedup=\(fmt(reference.seconds / ours.seconds, 2)) blas_differing=\(differing(theirs.result)) pool_differing=\(differing(ours.result)) dispatch_us=\(fmt(dispatch * 1e6, 1)) after_blas_ms=\(fmt(afterTheirs * 1e3, 2)) after_pool_ms=\(fmt(afterOurs * 1e3, 2)) alone_ms=\(fmt(alone * 1e3, 2))")
        ThreadPool.shared.configure(threads: 1)
    }

    /// C = A B on OpenBLAS's own threads, square n x n.
    private func openBLAS(_ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(n), blasint(n), blasint(n), 1, a, blasint(n), b,
            blasint(n), 0, c, blasint(n))
    }

    private func time(_ body: () -> Void) -> Double {
        let start = sgemm_clock_now()
        body()
        return sgemm_clock_now() - start
    }
}
