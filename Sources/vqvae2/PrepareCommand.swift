import ArgumentParser
import Checkpoints
import Coordination
import DataPipeline
import MPI
import Training

/// `vqvae2 prepare`: an ILSVRC2012-layout folder (or the built-in demo) to HDF5 shards and a manifest.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Convert an ImageNet-layout folder into HDF5 shards and a manifest.",
        discussion: """
            The source holds train/<wnid>/*.JPEG and val/ (class folders, or flat with \
            LOC_val_solution.csv or ILSVRC2012_validation_ground_truth.txt); LOC_synset_mapping.txt names the \
            classes. Every image is decoded (JPEG in any colour space, or PNG), its shorter side resized to \
            --image-size with anti-aliasing, and the centre cropped. Train images go to --train-shards \
            class-balanced shards, val images to the held-out shards that training never reads. The result is \
            the same for the same seed, whatever the number of ranks.

            Under mpirun the ranks convert different shards:
              launch/mpirun.sh -n 2 .build/release/vqvae2 prepare --source /data/imagenet --output /data/in64
            Without a dataset, --demo writes a small procedurally drawn one first and converts it:
              vqvae2 prepare --demo runs/demo-source --output runs/demo-data

            Files that are not images, cannot be read or fail to decode are skipped and listed in the report and \
            in the manifest, never fatal. A finished output is not converted again unless --force is given; \
            shards finished by an interrupted run are kept. SIGTERM, SIGINT, SIGUSR1 or SIGUSR2 stops every rank \
            within a few dozen images: the shards in progress are removed and no manifest is written.
            """)

    @Option(help: "The ImageNet-layout folder to convert.")
    var source: String?

    @Option(help: "Write the built-in demo image set to this folder, then convert it (instead of --source).")
    var demo: String?

    @Option(help: "Where the shards and manifest.json go.")
    var output: String

    @Option(help: "Side of the square images in the shards (a multiple of 8).")
    var imageSize = 64

    @Option(help: "Number of training shards.")
    var trainShards = 4

    @Option(help: "Number of held-out shards (from val/).")
    var heldoutShards = 1

    @Option(help: "Seed of the shuffle that deals images to shards.")
    var seed: UInt64 = 0

    @Option(help: "Ground-truth file for a flat val/ folder (default: found in the source folder).")
    var valLabels: String?

    @Option(help: "For integer labels in the ground-truth file: the wnids they count from 1, one per line.")
    var valClassOrder: String?

    @Option(help: "Demo classes (1-10).")
    var demoClasses = 10

    @Option(help: "Demo training images per class.")
    var demoTrainPerClass = 200

    @Option(help: "Demo held-out images per class.")
    var demoValPerClass = 20

    @Flag(help: "Convert again even if the output holds a finished conversion.")
    var force = false

    func validate() throws {
        guard (source == nil) != (demo == nil) else { throw ValidationError("give exactly one of --source and --demo") }
    }

    func run() throws {
        let mpi = try MPIRuntime()
        reportingErrors(mpi.world, command: "vqvae2 prepare") {
            let signals = StopSignals()
            let options = PrepareOptions(
                source: demo ?? source!, output: output, imageSize: imageSize, trainShards: trainShards,
                heldoutShards: heldoutShards, seed: seed, validationLabels: valLabels, validationClassOrder: valClassOrder)
            let demoSet = demo.map {
                PrepareRun.Demo(
                    directory: $0, classes: demoClasses, trainPerClass: demoTrainPerClass,
                    validationPerClass: demoValPerClass)
            }
            try PrepareRun(options: options, demo: demoSet, force: force).run(
                coordinator: Coordinator(mpi.world), stop: .signals(signals)
            ) { print($0) }
        }
    }
}
