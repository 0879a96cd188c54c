import ArgumentParser
import Checkpoints
import Foundation
import Training

/// `vqvae2 checkpoint`: look at sharded checkpoints without loading a model.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "List, verify and inspect sharded checkpoints.",
        discussion: """
            A checkpoint is a step-NNNNNNNN directory with one HDF5 shard per rank that wrote it and a \
            manifest.json written last, as the commit marker (docs/CHECKPOINTS.md). Directories without a \
            manifest (.tmp-*) are saves that did not finish; they are never loaded.

              vqvae2 checkpoint list runs/demo/checkpoints
              vqvae2 checkpoint verify runs/demo/checkpoints/step-00000300
              vqvae2 checkpoint show runs/demo/checkpoints/step-00000300
            """,
        subcommands: [List.self, Verify.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Committed and unfinished checkpoints in a directory.")
        @Argument(help: "The checkpoint root (checkpoints.directory).")
        var root: String
        func run() throws { print(try CheckpointReport.list(root: root)) }
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

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The manifest: step, data position, tensors, shards.")
        @Argument(help: "A step-NNNNNNNN directory.")
        var path: String
        func run() throws { print(CheckpointReport.show(try Checkpoint(path: path))) }
    }
}
