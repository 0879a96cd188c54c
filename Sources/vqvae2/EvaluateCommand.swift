import ArgumentParser
import Checkpoints
import Coordination
import Foundation
import MPI
import Training

/// `vqvae2 evaluate`: the held-out metrics of a checkpoint, over any number of ranks.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a checkpoint on the held-out shard.",
        discussion: """
            Reports reconstruction MSE on [-1,1] and [0,1], PSNR, per-level codebook usage and perplexity, top and \
            bottom prior NLL in nats and bits per code (on the held-out codes the same VQ-VAE produces), and \
            per-class MSE; prints a table and writes JSON. Under mpirun each rank evaluates its own batches and \
            the sums are added, so 1, 2 or 3 ranks give the same numbers. SIGTERM, SIGINT, SIGUSR1 or SIGUSR2 \
            stops every rank within a batch, and no report is written.

              launch/mpirun.sh -n 2 .build/release/vqvae2 evaluate --config configs/demo.yaml --checkpoint auto
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "The held-out data: a shard manifest (its held-out split), or one .h5 shard (default: the config's data.manifest).")
    var data: String?

    @Option(help: "Where the JSON report goes (default: <run.directory>/evaluation.json).")
    var output: String?

    @Option(help: "Images per batch.")
    var batch = 16

    func run() throws {
        let mpi = try MPIRuntime()
        reportingErrors(mpi.world, command: "vqvae2 evaluate") {
            let signals = StopSignals()
            let evaluation = EvaluationRun(
                checkpoint: model.checkpoint, configPath: model.config, overrides: model.overrides, data: data,
                batch: batch, output: output)
            try evaluation.run(coordinator: Coordinator(mpi.world), stop: .signals(signals)) { print($0) }
        }
    }
}
