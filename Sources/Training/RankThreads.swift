import Foundation
import Numerics

/// Puts `distributed.threads_per_rank` into effect in this process.
///
/// The rank's own thread pool runs everything: its loops, and its matrix products split into pieces, each one
/// single-threaded OpenBLAS call. OpenBLAS's threads stay at one because their result changes with their number
/// (docs/PERFORMANCE.md), and several threads then call OpenBLAS at once, which its sequential build is not
/// made for.
package enum RankThreads {
    /// Configures the pool for `threads`; `source` names where the value came from, for the error messages.
    package static func apply(
        _ threads: Int, source: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        if threads > 1 && BLAS.parallelMode == .sequential {
            throw TrainingSetupError(
                "\(source): distributed.threads_per_rank is \(threads), but this OpenBLAS is the sequential build, which several threads must not call at once; install the pthreads build (apt-get install libopenblas0-pthread) or set threads_per_rank to 1")
        }
        if let launched = environment["VQVAE2_THREADS_PER_RANK"], let cores = Int(launched), cores != threads {
            throw TrainingSetupError(
                "\(source): distributed.threads_per_rank is \(threads), but launch/mpirun.sh gave each rank \(cores) core(s) (--threads-per-rank \(cores)); launch with --threads-per-rank \(threads), or override it (--set distributed.threads_per_rank=\(cores))")
        }
        BLAS.setThreadCount(1)
        ThreadPool.shared.configure(threads: threads)
    }
}
