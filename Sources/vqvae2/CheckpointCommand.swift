import ArgumentParser
import Checkpoints
import Coordination
import Foundation
import MPI
import Training

/// `vqvae2 checkpoint`: look at sharded checkpoints (only export loads a model, to write its weights out).
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "List, verify, inspect and export sharded checkpoints.",
        discussion: """
            A checkpoint is a step-NNNNNNNN directory with one HDF5 shard per rank that wrote it and a \
            manifest.json written last, as the commit marker (docs/CHECKPOINTS.md). Directories without a \
            manifest (.tmp-*) are saves that did not finish; they are never loaded.

              vqvae2 checkpoint list runs/demo/checkpoints
              vqvae2 checkpoint verify runs/demo/checkpoints/step-00000300
              vqvae2 checkpoint inspect runs/demo/checkpoints/step-00000300
              vqvae2 checkpoint export runs/demo/checkpoints/step-00000300 --output demo-weights.h5
            """,
        subcommands: [List.self, Verify.self, Inspect.self, Export.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Committed and unfinished checkpoints in a directory.")
        @Argument(help: "The checkpoint root (checkpoints.directory).")
        var root: String
        @Flag(help: "Read every committed checkpoint back against its checksums and mark the damaged ones.")
        var verify = false
        func run() throws { print(try CheckpointReport.list(root: root, verify: verify)) }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every shard's size and CRC-32 against the manifest.")
        @Argument(help: "A step-NNNNNNNN directory.")
        var path: String
        func run() throws {
            let checkpoint = try Checkpoint(path: path)
            try checkpoint.verify()
            print("checkpoint \(path): \(checkpoint.manifest.shards.count) shard(s), every size and CRC-32 as the manifest says")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The manifest (step, data position, shards, config) and every tensor's name, shape and CRC-32.",
            aliases: ["show"])
        @Argument(help: "A step-NNNNNNNN directory.")
        var path: String
        func run() throws {
            let checkpoint = try Checkpoint(path: path)
            print(CheckpointReport.show(checkpoint), terminator: "")
            print("  config:")
            print(checkpoint.manifest.config.split(separator: "\n", omittingEmptySubsequences: false)
                .map { "    " + $0 }.joined(separator: "\n"))
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the model's weights and codebooks into one HDF5 file (docs/CHECKPOINTS.md).",
            discussion: """
                One fp32 dataset per parameter at /<model>/<parameter name> (models vqvae, top_prior, \
                bottom_prior) in the model's shapes, and /vqvae/top/codebook and /vqvae/bottom/codebook [K, D]; \
                root attributes step, model_fingerprint, config and format_version. The checkpoint is loaded as \
                by evaluate, so the config's data.manifest must exist (it gives the class count; --set \
                data.manifest=PATH points elsewhere).
                """)
        @Argument(help: "A step-NNNNNNNN directory, or auto with --config for the newest committed one.")
        var path: String

        @Option(help: "The HDF5 file to write.")
        var output: String

        @Option(help: "The experiment config (default: the one saved in the checkpoint).")
        var config: String?

        @Option(name: .customLong("set"), help: "Override a config value: section.key=value (repeatable).")
        var overrides: [String] = []

        @Flag(help: "Replace an existing output file.")
        var force = false

        func run() throws {
            let mpi = try MPIRuntime()
            reportingErrors(mpi.world) {
                let signals = StopSignals()
                let (summary, source) = try WeightExport.export(
                    checkpoint: path, configPath: config, overrides: overrides, coordinator: Coordinator(mpi.world),
                    output: output, overwrite: force, stop: .signals(signals))
                guard let summary else { return }
                print(String(
                    format: "export: %@ (step %d) -> %@: %d datasets, %d values, %.1f MB", source.path,
                    source.replica.step, summary.path, summary.datasets, summary.values, Double(summary.bytes) / 1e6))
            }
        }
    }
}
