import ArgumentParser
import Checkpoints
import Coordination
import DataPipeline
import Foundation
import MPI
import Model
import Training

#if canImport(Glibc)
import Glibc
#endif

/// `vqvae2-bench checkpoint`: save and load time and MB/s per rank of the whole training state, fsync included.
struct CheckpointBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Save and load time and MB/s per rank of a replica's whole state (parameters, Adam moments, codebooks).",
        discussion: """
            Builds a replica (VQ-VAE at 256 pixels, C 128, residual 64, K 512, D 64, with the priors --priors \
            names), then --repeats times: a collective save into --directory (keep 1, so each save also removes \
            the previous one), and two loads of the full state on every rank: cold (the shards' pages dropped \
            from the page cache with posix_fadvise, so they come from the disk) and warm. Run it alone and under \
            launch/mpirun.sh -n N.
            """)

    /// Which priors go with the paper-size VQ-VAE.
    enum Priors: String, ExpressibleByArgument, CaseIterable {
        /// PriorConfig.paperTop and .paperBottom with 1000 classes.
        case paper
        /// PriorConfig.small (the benchmark prior of docs/MODEL.md) for both levels, 10 classes.
        case benchmark
    }

    @Option(help: "The priors: \(Priors.allCases.map(\.rawValue).joined(separator: ", ")).")
    var priors = Priors.paper

    @Option(help: "Channels of both paper priors (and of the bottom one's conditioning stack, their residual units in proportion): 512 is the paper's; less shrinks the state to fit several ranks in memory.")
    var priorChannels = 512

    @Option(help: "Checkpoint root (created; deleted afterwards). Every rank must see it.")
    var directory = "/tmp/vqvae2-bench-checkpoint"

    @Option(help: "Saves (and pairs of loads) to time.")
    var repeats = 3

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard priorChannels >= 8, priorChannels % 8 == 0 else { throw ValidationError("--prior-channels must be a positive multiple of 8 (the heads)") }
    }

    func run() throws {
        let mpi = try MPIRuntime()
        let coordinator = Coordinator(mpi.world)
        var config = ExperimentConfig()
        config.model = VQVAEConfig()
        let classes: Int
        switch priors {
        case .paper:
            (config.topPrior, config.bottomPrior, classes) = (.paperTop, .paperBottom, 1000)
            for level in [\ExperimentConfig.topPrior, \ExperimentConfig.bottomPrior] {
                config[keyPath: level].residualUnits = config[keyPath: level].residualUnits * priorChannels / 512
                config[keyPath: level].channels = priorChannels
            }
            config.bottomPrior.conditioningChannels = priorChannels
        case .benchmark:
            (config.topPrior, config.bottomPrior, classes) = (.small, .small, 10)
        }
        let built = Date()
        let replica = try Replica(config: config, classes: classes)
        let tensors = replica.checkpointTensors
        let fingerprint = replica.fingerprint(classes: classes)
        let stateBytes = tensors.map(\.byteCount).reduce(0, +)
        if coordinator.isRoot {
            print("load average before: \(Self.loadAverage())")
            print(String(
                format: "state: %@ parameters (vqvae, top, bottom); %.1f MB with Adam moments and codebooks; built in %.1f s",
                replica.stores.all.map { String($0.count) }.joined(separator: ", "), Double(stateBytes) / 1e6,
                Date().timeIntervalSince(built)))
            try? FileManager.default.removeItem(atPath: directory)
        }
        try coordinator.barrier()
        defer { if coordinator.isRoot { try? FileManager.default.removeItem(atPath: directory) } }

        let writer = CheckpointWriter(root: directory, keep: 1)
        var rows: [[Measurement]] = []
        for repeat_ in 1...repeats {
            replica.step = repeat_
            try coordinator.barrier()
            let saveStart = Date()
            let saved = try writer.save(
                tensors, metadata: replica.checkpointMetadata(position: DataPosition()), config: "", modelFingerprint: fingerprint,
                coordinator: coordinator)
            let save = Date().timeIntervalSince(saveStart)

            let cold = try timedLoad(saved.path, tensors, fingerprint, coordinator, evict: true)
            let warm = try timedLoad(saved.path, tensors, fingerprint, coordinator, evict: false)
            let mine = Measurement(written: saved.bytesWritten, save: save, read: stateBytes, cold: cold, warm: warm)
            rows.append(try coordinator.agree("measurement") { mine })
        }
        guard coordinator.isRoot else { return }
        print("ranks \(coordinator.worldSize); per rank: save writes its shard, a load reads the full state (every shard)")
        print("repeat | rank | shard MB | save s | save MB/s | load MB | cold load s | cold MB/s | warm load s | warm MB/s")
        print("---|---|---|---|---|---|---|---|---|---")
        for (index, row) in rows.enumerated() {
            for (rank, m) in row.enumerated() {
                let shard = Double(m.written) / 1e6, read = Double(m.read) / 1e6
                print(String(
                    format: "%d | %d | %.1f | %.2f | %.0f | %.1f | %.2f | %.0f | %.2f | %.0f", index + 1, rank, shard, m.save,
                    shard / m.save, read, m.cold, read / m.cold, m.warm, read / m.warm))
            }
        }
        print("load average after: \(Self.loadAverage())")
    }

    /// One rank's timings of one repeat.
    struct Measurement: Codable {
        var written: Int
        var save: Double
        var read: Int
        var cold: Double
        var warm: Double
    }

    /// Seconds for every rank to open `path` and load the full state, all ranks starting together.
    private func timedLoad(
        _ path: String, _ tensors: [StateTensor], _ fingerprint: String, _ coordinator: Coordinator, evict: Bool
    ) throws -> Double {
        if evict {
            let checkpoint = try Checkpoint(path: path)
            for shard in checkpoint.manifest.shards.indices { Self.dropFromPageCache(checkpoint.shardPath(shard)) }
        }
        try coordinator.barrier()
        let start = Date()
        _ = try Checkpoint(path: path).load(into: tensors, modelFingerprint: fingerprint)
        return Date().timeIntervalSince(start)
    }

    /// Asks the kernel to drop the file's cached pages; they are clean after the save's fsync, so no root is needed.
    private static func dropFromPageCache(_ file: String) {
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { return }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
    }

    private static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    }
}
