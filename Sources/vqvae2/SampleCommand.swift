import ArgumentParser
import Coordination
import Checkpoints
import Evaluation
import Foundation
import MPI
import Training

/// `vqvae2 sample`: class-conditional samples from a checkpoint's priors, decoded by its VQ-VAE, as a PNG grid.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw class-conditional samples from a checkpoint's priors.",
        discussion: """
            Ancestral sampling: top codes from p(z_top | class) in raster order, then bottom codes from \
            p(z_bottom | z_top, class), decoded by the VQ-VAE. One row per class. The same seed gives the same \
            picture; sample j of class c depends only on (seed, c, j, --batch), not on the other classes asked \
            for nor on the number of ranks.

            Each layer's output is computed once per position (incremental sampling), --batch samples at a time. \
            Under mpirun the ranks share the batches and rank 0 writes the grid. SIGTERM, SIGINT, SIGUSR1 or \
            SIGUSR2 stops every rank within a fraction of a second, and nothing is written.

              vqvae2 sample --config configs/demo.yaml --classes 1,7,4 --per-class 8 --temperature 1.0
              launch/mpirun.sh -np 2 vqvae2 sample --checkpoint runs/demo/checkpoints/step-00000300 --batch 8
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Class indices, comma-separated (default: the first ten).")
    var classes: String?

    @Option(help: "Samples per class.")
    var perClass = 8

    @Option(help: "Softmax temperature (0 takes the most likely code).")
    var temperature: Float = 1

    @Option(help: "Seed of the draws.")
    var seed: UInt64 = 0

    @Option(help: "Samples that go through the priors together (memory and speed; the last batch is padded).")
    var batch = 16

    @Option(help: "The PNG to write (default: <run.directory>/pictures/samples-seed<seed>.png).")
    var output: String?

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive, got \(batch)") }
        guard perClass > 0 else { throw ValidationError("--per-class must be positive, got \(perClass)") }
    }

    func run() throws {
        let mpi = try MPIRuntime()
        reportingErrors(mpi.world, command: "vqvae2 sample") {
            let signals = StopSignals()
            let coordinator = Coordinator(mpi.world)
            let loaded = try model.load(coordinator)
            let count = loaded.manifest.classes.count
            let chosen = try classes.map { text in
                try text.split(separator: ",").map { part -> Int32 in
                    guard let c = Int32(part.trimmingCharacters(in: .whitespaces)), c >= 0, c < count else {
                        throw ValidationError("--classes: '\(part)' is not a class index in 0..<\(count)")
                    }
                    return c
                }
            } ?? (0..<min(count, 10)).map { Int32($0) }
            let grid = SampleGrid(
                classes: chosen, perClass: perClass, temperature: temperature, seed: seed, batch: batch)
            let progress = SamplingProgress(label: "sample")
            let sampling = GridSampling(
                coordinator: coordinator, stopRequested: { signals.requested },
                progress: mpi.world.isRoot ? progress.update : nil)
            let pictures = RunPictures(runDirectory: loaded.config.runDirectory)
            if mpi.world.isRoot {
                print("sample: drawing \(grid.count) samples in \(grid.chunks.count) batch(es) of \(batch) on \(mpi.world.size) rank(s)")
            }
            let start = Date()
            let written = try pictures.samples(
                replica: loaded.replica, grid: grid, sampling: sampling, classNames: loaded.manifest.classes.map(\.name),
                to: output ?? pictures.directory + "/samples-seed\(seed).png")
            if let written {
                let seconds = Date().timeIntervalSince(start)
                print(String(
                    format: "sample: %d classes x %d from %@, temperature %g, seed %llu, %d rank(s): %.1f s, %.2f samples/s -> %@",
                    chosen.count, perClass, loaded.path, temperature, seed, mpi.world.size, seconds,
                    Double(grid.count) / seconds, written))
            }
        }
    }
}
