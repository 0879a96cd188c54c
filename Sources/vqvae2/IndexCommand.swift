import ArgumentParser
import Checkpoints
import Coordination
import DataPipeline
import MPI
import Training

/// `vqvae2 index`: a manifest for HDF5 image shards that are already there (another tool's, in the common layout).
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Write a manifest for existing HDF5 image shards, checking every one; nothing is moved or rewritten.",
        discussion: """
            For shards in the common h5py layout: `images` uint8 [N, S, S, 3] (square, S a multiple of 8, RGB \
            channels last) and integer `labels` [N] counting classes from 0, as h5py writes them with
              f.create_dataset('images', data=x, chunks=(1, S, S, 3))
              f.create_dataset('labels', data=y)
            The shards are the files directly in the folder whose names match the --train and --heldout shell patterns \
            (quote them); every pattern must match, no file may match both. Training reads the train split and \
            evaluates on the held-out one, which it never trains on:
              vqvae2 index /data/mine --train 'train-*.h5' --heldout 'val-*.h5'
              launch/mpirun.sh -n 4 .build/release/vqvae2 index /data/mine \\
                  --train 'train-*.h5' --heldout 'val-*.h5'
            Then train with data.manifest: /data/mine/manifest.json and model.image_size: S.

            Class names come from --class-names (one per line, in label order), else the shards' own `class_names` \
            (an attribute of the file, or a dataset; a list of strings, or one string of lines), which must agree \
            across shards, else the label numbers 0 ... largest label.

            Every shard is checked before anything is written: dtype, shape and image size, one label per image, \
            labels within the classes, every compression filter available in this HDF5 library (h5py's LZF, for \
            one, is not: the error names the filter and what to do), and the first chunk of the images actually \
            read. A compressed `images` dataset, or one with more than one image per chunk, gets a warning naming \
            the shards and what it costs: the loader reads single images at random rows on one thread, and HDF5 \
            decompresses whole chunks (gzip at about 100 MB/s: some 130 images/s at 64x64 with 64 images per \
            chunk, against 64,000 uncompressed; see docs/DATA.md).

            The manifest records each shard's size and the CRC-32 of the whole file (data.verify_checksums: true \
            checks them at training start), so every byte of every shard is read once; this is not optional. \
            Measured at 700-800 MB/s on one rank from the page cache; from a disk, the disk's read speed. ImageNet \
            at 64x64 (1.28 M images, 16 GB) takes some 20 s from memory, 80 s from a 200 MB/s disk, divided among \
            the ranks as far as the storage keeps up. Ranks split the shards (shard i on rank i mod ranks) and rank \
            0 writes the manifest once every rank's shards passed; a failure on any rank fails all. A manifest \
            already in the folder is not replaced without --force. SIGTERM, SIGINT, SIGUSR1 or SIGUSR2 stops every rank \
            after its current shard, writing nothing.
            """)

    @Argument(help: ArgumentHelp("The folder holding the shards; manifest.json is written there.", valueName: "folder"))
    var directory: String

    @Option(help: ArgumentHelp("Shell pattern on file names choosing the training shards (repeatable).", valueName: "pattern"))
    var train: [String] = []

    @Option(help: ArgumentHelp("Shell pattern on file names choosing the held-out shards (repeatable).", valueName: "pattern"))
    var heldout: [String] = []

    @Option(help: ArgumentHelp("The dataset holding the images.", valueName: "name"))
    var imagesDataset = "images"

    @Option(help: ArgumentHelp("The dataset holding the labels.", valueName: "name"))
    var labelsDataset = "labels"

    @Option(
        help: ArgumentHelp(
            "A text file of class names, one per line in label order (default: the shards' class_names, or numbers).",
            valueName: "file"))
    var classNames: String?

    @Flag(help: "Replace a manifest.json that is already in the folder.")
    var force = false

    func validate() throws {
        guard !train.isEmpty else { throw ValidationError("give at least one --train pattern") }
        guard !heldout.isEmpty else {
            throw ValidationError("give at least one --heldout pattern: training evaluates on the held-out split")
        }
        guard imagesDataset != labelsDataset else {
            throw ValidationError("--images-dataset and --labels-dataset name the same dataset '\(imagesDataset)'")
        }
    }

    func run() throws {
        let mpi = try MPIRuntime()
        reportingErrors(mpi.world, command: "vqvae2 index") {
            let signals = StopSignals()
            let options = IndexOptions(
                directory: directory, patterns: [("train", train), ("heldout", heldout)],
                names: DatasetNames(images: imagesDataset, labels: labelsDataset), classNamesFile: classNames)
            try IndexRun(options: options, force: force).run(
                coordinator: Coordinator(mpi.world), stop: .signals(signals)
            ) { print($0) }
        }
    }
}
