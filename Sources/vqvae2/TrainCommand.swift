import ArgumentParser
import Foundation
import Checkpoints
import Coordination
import MPI
import Storage
import Training

/// `vqvae2 train`: data-parallel training under mpirun.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the VQ-VAE-2 and its priors data-parallel under mpirun.",
        discussion: """
            Every rank builds the same model from the config (rank 0's parameters are broadcast), reads its slice \
            of every global batch, and all-reduces gradients; the EMA codebooks are updated from statistics summed \
            over ranks. The global batch (train.global_batch) is split evenly over the ranks, so 1 rank and N ranks \
            train the same model.

              launch/mpirun.sh -n 2 .build/release/vqvae2 train --config configs/fashion-mnist.yaml
              launch/mpirun.sh --hostfile H .build/release/vqvae2 train --config configs/imagenet64.yaml \\
                  --set data.manifest=/data/in64/manifest.json

            The experiments: configs/fashion-mnist.yaml (the quick start), configs/demo.yaml (the demo images), \
            configs/imagenet64.yaml and configs/imagenet128.yaml (mid-scale ImageNet for a CPU cluster) and \
            configs/imagenet256.yaml (the paper's); each file's header says what it costs.

            Settings come from the config file (every file in configs/ writes every key down; a key left out gets \
            the paper's ImageNet 256 value); --set \
            overrides one, e.g. --set train.steps=100 --set train.schedule=vqvae. Schedules: joint (VQ-VAE and \
            both priors every step), vqvae and priors (the staged schedule's two parts).
            Rank 0 prints progress, appends metrics to <run.directory>/metrics.jsonl and writes TensorBoard event \
            files there (tensorboard --logdir <run.directory>).

            Checkpoints go to checkpoints.directory (a filesystem every rank sees) every \
            intervals.checkpoint_every steps, at the end, and when any rank gets SIGTERM, SIGINT, SIGUSR1 or \
            SIGUSR2 (the ranks agree at the next step boundary, save, and exit 0). --resume auto continues from \
            the newest committed one whose shards verify (a damaged one is skipped with a warning), with any \
            number of ranks. A job holds a lease on checkpoints.directory: a second job there is refused.

            Exit status: 0 done or stopped on request, 2 bad input (a config value, the data, a checkpoint that \
            does not fit), 1 any other failure. launch/mpirun.sh --max-restarts N restarts failed jobs (not 2).
            """)

    @Option(help: "The experiment's config file.")
    var config: String

    @Option(name: .customLong("set"), help: "Override a config value: section.key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Resume from a committed checkpoint: a step-NNNNNNNN directory, or auto for the newest one in checkpoints.directory (none if there is none).")
    var resume: String?

    @Flag(help: "Print a CRC-32 of every state tensor at the end (to compare runs).")
    var printStateChecksums = false

    func run() throws {
        let mpi = try MPIRuntime()
        let world = mpi.world
        let console = Console()
        // Long enough for mpirun to relay the last lines. After a stop signal mpirun may be tearing the job down
        // and not reading at all, and its SIGKILL follows odls_base_sigkill_timeout after the SIGTERM: wait less.
        var flushSeconds = 3.0
        defer { console.flush(within: flushSeconds) }
        reportingErrors(world, command: "vqvae2 train", beforePrinting: { console.flush(within: 3) }) {
            let signals = StopSignals()
            let environment = ProcessInfo.processInfo.environment
            var experiment = try ExperimentConfig.load(path: config, overrides: overrides)
            try RankThreads.apply(experiment.distributed.threadsPerRank, source: config)
            let firstWorldSize = Int(environment["VQVAE2_FIRST_WORLD_SIZE"] ?? "") ?? world.size
            let shrunk = try ShrunkWorld.adapt(&experiment, firstWorldSize: firstWorldSize, worldSize: world.size)
            if let shrunk, world.isRoot { console.print(shrunk) }
            let text = (try? String(contentsOfFile: config, encoding: .utf8)) ?? ""
            let run = try TrainingRun(
                config: experiment, coordinator: Coordinator(world),
                configText: text + overrides.map { "\n# --set \($0)" }.joined(), signals: signals,
                output: console.print)
            let resumedFrom = try resume.flatMap { try run.resume($0) }
            if let restart = Int(environment["VQVAE2_RESTART_COUNT"] ?? ""), restart > 0, world.isRoot {
                let record = RestartRecord(
                    time: ISO8601DateFormatter().string(from: Date()), restart: restart,
                    cause: environment["VQVAE2_RESTART_CAUSE"] ?? "not given", worldSize: world.size,
                    firstWorldSize: firstWorldSize, microBatches: experiment.train.microBatches,
                    resumedStep: run.resumedStep ?? 0, resumedFrom: resumedFrom)
                try record.append(to: experiment.runDirectory)
                console.print("train: restart \(restart) at world size \(world.size), from step \(record.resumedStep); recorded in \(experiment.runDirectory)/restarts.jsonl")
            }
            try run.run()
            if printStateChecksums && world.isRoot { console.print("state checksums: \(run.stateChecksums)") }
            run.lease.release()
            if let saved = run.stoppedOnRequest {
                flushSeconds = 0.5
                if world.isRoot { try reportStop(saved, signal: signals.signalName) }
            }
        }
    }

    /// mpirun exits 1 after a SIGTERM sent to it even when every rank saved and exited 0, so the launcher cannot
    /// tell a clean stop from a failure by its status; it names a file in VQVAE2_STOP_REPORT that rank 0 writes
    /// once the checkpoint is committed.
    private func reportStop(_ saved: SavedCheckpoint, signal: String?) throws {
        guard let path = ProcessInfo.processInfo.environment["VQVAE2_STOP_REPORT"], !path.isEmpty else { return }
        let line = "stopped on request (\(signal ?? "signal on another rank")) at step \(saved.step); checkpoint \(saved.path) committed\n"
        try Durability.writeAtomically(Data(line.utf8), to: path)
    }
}
