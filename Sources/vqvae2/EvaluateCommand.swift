import ArgumentParser
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
            the sums are added, so 1, 2 or 3 ranks give the same numbers.

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
        try reportingErrors(mpi.world) {
            let shard = data.map { $0.hasSuffix(".h5") } ?? false
            let loaded = try model.load(mpi.world, extraOverrides: shard ? [] : data.map { ["data.manifest=\($0)"] } ?? [])
            let evaluation = shard
                ? try HeldOutEvaluation(shardPaths: [data!], manifest: loaded.manifest, batch: batch)
                : try HeldOutEvaluation(
                    manifestPath: loaded.config.data.manifest, split: loaded.config.data.heldoutSplit, batch: batch)
            let sync = MPISync(communicator: mpi.world, stores: [], bucketBytes: 1 << 20, overlap: false)
            let report = try evaluation.run(loaded.replica, sync: sync, step: loaded.replica.step)
            guard mpi.world.isRoot else { return }
            let path = output ?? loaded.config.runDirectory + "/evaluation.json"
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try report.json().write(toFile: path, atomically: true, encoding: .utf8)
            let source = shard ? data! : "\(loaded.config.data.manifest) (\(loaded.config.data.heldoutSplit))"
            print("evaluate: \(loaded.path) on \(source), \(mpi.world.size) rank(s)")
            print(report.table)
            print("evaluate: wrote \(path)")
        }
    }
}

/// Runs `body`, printing an error once (rank 0, or the rank that alone failed) and exiting non-zero.
func reportingErrors(_ world: Communicator, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        if world.isRoot || !(error is CollectiveFailure) {
            FileHandle.standardError.write(Data("vqvae2: \(error)\n".utf8))
        }
        throw ExitCode.failure
    }
}
