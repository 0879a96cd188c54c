import ArgumentParser
import Coordination
import Foundation
import HDF5
import ImageCodecs
import MPI
import Numerics

/// `vqvae2 env`: what every rank sees of MPI, OpenBLAS, HDF5, the image codecs and the vector kernels.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Check the installation: MPI, OpenBLAS, HDF5, codecs and vector kernels as every rank sees them.",
        discussion: """
            Run it under the launcher to see the ranks of a job, for example
              launch/mpirun.sh -n 2 .build/release/vqvae2 env
            Rank 0 prints library versions once, then one line per rank: host, process id, OpenBLAS threads, \
            the sgemm speed that rank measured, and the vector variant it would run (VQVAE2_VECTOR_VARIANT=\
            baseline|avx2|avx512 forces one) with the best its CPU supports; then the variant a training job \
            would run, the lowest over the ranks. It also checks an all-reduce across all ranks and fails if \
            its result is wrong.
            """)

    @Option(help: "Matrix size of the sgemm speed check (0 skips it).")
    var gemmSize: Int = 512

    func run() throws {
        let mpi = try MPIRuntime()
        let world = mpi.world

        let gflops = gemmSize > 0 ? measureSGEMM(size: gemmSize) : 0
        let requested = Result { try VectorVariant.requested() }
        let vector: String
        switch requested {
        case .success(let variant): vector = "vector \(variant) (best \(VectorVariant.best))"
        case .failure(let error): vector = "vector: \(error)"
        }
        let line = String(
            format: "rank %d/%d  host %@  pid %d  openblas threads %d  sgemm %d^3 %.1f GFLOP/s  %@",
            world.rank, world.size, MPIRuntime.processorName, getpid(), BLAS.threadCount, gemmSize, gflops, vector)
        let lines = try world.allGather(bytes: Array(line.utf8))
        let variants = Result { try Coordinator(world).vectorVariants() }

        let rankSum = try world.allReduce(Int64(world.rank), op: .sum)
        let expected = Int64(world.size * (world.size - 1) / 2)

        guard world.isRoot else {
            if rankSum != expected { throw ValidationError("all-reduce returned \(rankSum), expected \(expected)") }
            if (try? variants.get()) == nil { throw ExitCode.failure }
            return
        }
        print("MPI:      \(MPIRuntime.libraryVersion.split(separator: "\n").first ?? "")")
        print("          thread level \(mpi.threadLevel), world size \(world.size)")
        print("OpenBLAS: \(BLAS.configuration) (core \(BLAS.coreName); \(BLAS.parallelMode.name) build)")
        if BLAS.parallelMode == .sequential {
            print("          distributed.threads_per_rank above 1 needs the pthreads build (apt-get install libopenblas0-pthread)")
        }
        print("HDF5:     \(HDF5.File.libraryVersion)\(HDF5.File.isThreadSafe ? " (thread-safe build)" : "")")
        print("libpng:   \(ImageCodecs.libpngVersion)  libjpeg-turbo: \(ImageCodecs.libjpegVersion)")
        for bytes in lines { print(String(decoding: bytes, as: UTF8.self)) }
        switch variants {
        case .success(let variants): print("vector variant of a training job: \(variants.min() ?? .baseline) (the lowest over the ranks)")
        case .failure(let error): print("vector variant of a training job: none, a rank cannot run its forced variant: \(error)")
        }
        let ok = rankSum == expected
        print("all-reduce check: sum of ranks = \(rankSum), expected \(expected): \(ok ? "ok" : "WRONG")")
        if BLAS.threadCount > 1 {
            print("warning: OpenBLAS uses \(BLAS.threadCount) threads per rank; set OPENBLAS_NUM_THREADS=1 (distributed.threads_per_rank gives a rank more threads, with results that do not depend on their number)")
        }
        if !ok || (try? variants.get()) == nil { throw ExitCode.failure }
    }

    private func measureSGEMM(size n: Int) -> Double {
        let a = [Float](repeating: 0.5, count: n * n)
        let b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        BLAS.sgemm(m: n, n: n, k: n, a: a.baseAddress!, b: b.baseAddress!, c: c.baseAddress!)
                    }
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        return 2 * Double(n * n * n) / best * 1e-9
    }
}
