import ArgumentParser
import Coordination
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
            picture; sample j of class c depends only on (seed, c, j), not on the other classes asked for.

              vqvae2 sample --config configs/demo.yaml --classes 1,7,4 --per-class 8 --temperature 1.0
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

    @Option(help: "The PNG to write (default: <run.directory>/pictures/samples-seed<seed>.png).")
    var output: String?

    func run() throws {
        let mpi = try MPIRuntime()
        try reportingErrors(mpi.world) {
            let loaded = try model.load(Coordinator(mpi.world))
            guard mpi.world.isRoot else { return }
            let count = loaded.manifest.classes.count
            let chosen = try classes.map { text in
                try text.split(separator: ",").map { part -> Int32 in
                    guard let c = Int32(part.trimmingCharacters(in: .whitespaces)), c >= 0, c < count else {
                        throw ValidationError("--classes: '\(part)' is not a class index in 0..<\(count)")
                    }
                    return c
                }
            } ?? (0..<min(count, 10)).map { Int32($0) }
            let pictures = RunPictures(runDirectory: loaded.config.runDirectory)
            let path = try pictures.samples(
                replica: loaded.replica, classes: chosen, perClass: perClass, temperature: temperature, seed: seed,
                classNames: loaded.manifest.classes.map(\.name), to: output ?? pictures.directory + "/samples-seed\(seed).png")
            print("sample: \(chosen.count) classes x \(perClass) from \(loaded.path), temperature \(temperature), seed \(seed) -> \(path)")
        }
    }
}
