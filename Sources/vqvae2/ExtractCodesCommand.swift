import ArgumentParser
import Checkpoints
import Coordination
import Foundation
import MPI
import Training

/// `vqvae2 extract-codes`: the staged schedule's middle part.
struct ExtractCodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract-codes",
        abstract: "Write a trained VQ-VAE's top and bottom codes for every image as code shards.",
        discussion: """
            The staged schedule: train the VQ-VAE (train.schedule=vqvae), extract its codes, then train the priors \
            on them (train.schedule=priors reads data.codes_manifest). One code shard per image shard, with the same \
            labels; ranks split the shards. SIGTERM, SIGINT, SIGUSR1 or SIGUSR2 stops every rank within a batch: \
            the shard in progress is removed and no manifest is written.

              launch/mpirun.sh -n 2 .build/release/vqvae2 train --config configs/demo.yaml --set train.schedule=vqvae
              launch/mpirun.sh -n 2 .build/release/vqvae2 extract-codes --config configs/demo.yaml
              launch/mpirun.sh -n 2 .build/release/vqvae2 train --config configs/demo.yaml --set train.schedule=priors \\
                  --resume auto
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Where the code shards and their manifest go (default: the directory of data.codes_manifest).")
    var output: String?

    func run() throws {
        let mpi = try MPIRuntime()
        reportingErrors(mpi.world, command: "vqvae2 extract-codes") {
            let signals = StopSignals()
            let coordinator = Coordinator(mpi.world)
            let loaded = try model.load(coordinator)
            let directory = output ?? (loaded.config.data.codesManifest as NSString).deletingLastPathComponent
            let extraction = CodeExtraction(imageManifestPath: loaded.config.data.manifest, output: directory)
            if mpi.world.isRoot { print("extract-codes: \(loaded.path) -> \(directory) on \(mpi.world.size) rank(s)") }
            let manifest = try extraction.run(
                replica: loaded.replica, coordinator: coordinator, source: loaded.path, stop: .signals(signals))
            if let manifest {
                let counts = manifest.splits.keys.sorted().map { "\($0) \(manifest.splits[$0]!.count)" }.joined(separator: ", ")
                print("extract-codes: \(counts) code maps from \(loaded.path) -> \(directory)/manifest.json")
            }
        }
    }
}
