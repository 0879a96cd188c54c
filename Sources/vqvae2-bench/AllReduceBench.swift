import ArgumentParser
import Foundation
import MPI

/// `vqvae2-bench allreduce`: the blocking fp32 sum all-reduce over message sizes, the input of a scaling projection.
struct AllReduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Time the fp32 sum all-reduce over message sizes, and fit a latency and a bandwidth to it.",
        discussion: """
            Run it under launch/mpirun.sh: every rank all-reduces buffers from --min-bytes up to --max-bytes \
            (each 4 times the last), --warmup untimed and --repeats timed calls per size after a barrier; a \
            call's time is the slowest rank's, and the table shows the median. Algorithm bandwidth is bytes / \
            time; bus bandwidth multiplies it by 2(p-1)/p, the share of the buffer each rank sends in a ring \
            all-reduce, so it compares across rank counts. The fit is time = a + 2(p-1)/p * bytes / B by least \
            squares over the sizes: a is the latency term, B the link's bandwidth, as a ring all-reduce's cost \
            model writes them, fitted to the relative error so that every size counts alike. One rank's \
            "all-reduce" moves nothing, so run 2 or more.
              launch/mpirun.sh -n 2 .build/release/vqvae2-bench allreduce
              launch/mpirun.sh --hostfile H --net 10.10.0.0/24 .build/release/vqvae2-bench allreduce
            """)

    @Option(help: "Smallest message in bytes (a multiple of 4).")
    var minBytes = 4096

    @Option(help: "Largest message in bytes.")
    var maxBytes = 64 << 20

    @Option(help: "Untimed calls per size.")
    var warmup = 2

    @Option(help: "Timed calls per size (the median is reported).")
    var repeats = 9

    func validate() throws {
        guard minBytes >= 4, minBytes % 4 == 0 else { throw ValidationError("--min-bytes must be a positive multiple of 4") }
        guard maxBytes >= minBytes else { throw ValidationError("--max-bytes must be at least --min-bytes") }
        guard repeats >= 1, warmup >= 0 else { throw ValidationError("--repeats must be at least 1, --warmup at least 0") }
    }

    func run() throws {
        let mpi = try MPIRuntime()
        let world = mpi.world
        let ranks = world.size
        let share = ranks > 1 ? 2 * Double(ranks - 1) / Double(ranks) : 0
        var sizes: [Int] = []
        var bytes = minBytes
        while bytes <= maxBytes {
            sizes.append(bytes)
            bytes *= 4
        }
        if world.isRoot {
            print("all-reduce (fp32 sum, blocking) on \(ranks) rank(s), median of \(repeats) calls after \(warmup) untimed")
            print("| bytes | ms | algorithm GB/s | bus GB/s |\n|---:|---:|---:|---:|")
        }
        var measured: [(bytes: Double, seconds: Double)] = []
        for size in sizes {
            var buffer = [Float](repeating: 1, count: size / 4)
            var times: [Double] = []
            for call in 0..<(warmup + repeats) {
                try world.barrier()
                let start = DispatchTime.now().uptimeNanoseconds
                try world.allReduce(&buffer)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                let slowest = try world.allReduce(seconds, op: .max)
                if call >= warmup { times.append(slowest) }
            }
            let seconds = median(times)
            measured.append((Double(size), seconds))
            if world.isRoot {
                let algorithm = Double(size) / seconds / 1e9
                print("| \(size) | \(fmt(seconds * 1e3, 3)) | \(fmt(algorithm, 2)) | \(fmt(algorithm * share, 2)) |")
            }
        }
        guard world.isRoot, ranks > 1, measured.count >= 2 else { return }
        // Least squares of the relative error of seconds = a + b * (share * bytes): every size counts alike, where
        // plain least squares would fit the largest message alone.
        let rows = measured.map { (1 / $0.seconds, share * $0.bytes / $0.seconds) }
        let s11 = rows.reduce(0) { $0 + $1.0 * $1.0 }, s12 = rows.reduce(0) { $0 + $1.0 * $1.1 }
        let s22 = rows.reduce(0) { $0 + $1.1 * $1.1 }
        let r1 = rows.reduce(0) { $0 + $1.0 }, r2 = rows.reduce(0) { $0 + $1.1 }
        let determinant = s11 * s22 - s12 * s12
        let a = (r1 * s22 - r2 * s12) / determinant, b = (s11 * r2 - s12 * r1) / determinant
        let worst = measured.map { abs((a + b * share * $0.bytes) / $0.seconds - 1) }.max() ?? 0
        print(String(
            format: "fit: time = %.1f us + 2(p-1)/p * bytes / %.2f GB/s (p = %d), within %.0f%% of every size",
            a * 1e6, 1 / b / 1e9, ranks, worst * 100))
    }
}
