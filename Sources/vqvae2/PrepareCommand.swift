import ArgumentParser
import Checkpoints
import Coordination
import DataPipeline
import MPI
import Training

/// `vqvae2 prepare`: an ILSVRC2012-layout folder, MNIST-family IDX files or the built-in demo to HDF5 shards and a
/// manifest.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Convert an ImageNet-layout folder or MNIST-family IDX files into HDF5 shards and a manifest.",
        discussion: """
            An ImageNet-layout source holds train/<wnid>/*.JPEG and val/ (class folders, or flat with \
            LOC_val_solution.csv or ILSVRC2012_validation_ground_truth.txt); LOC_synset_mapping.txt names the \
            classes. Every image is decoded (JPEG in any colour space, or PNG), its shorter side resized to \
            --image-size with anti-aliasing, and the centre cropped. Train images go to --train-shards \
            class-balanced shards, val images to the held-out shards that training never reads. The result is \
            the same for the same seed, whatever the number of ranks.

            An IDX source (MNIST, Fashion-MNIST and their kin) holds train-images-idx3-ubyte, \
            train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each plain or .gz; the \
            t10k images become the held-out split. Its files carry no class names, so --class-names is required: \
            Debian's dataset-fashion-mnist package, for example, converts at 32 pixels with
              vqvae2 prepare --source /usr/share/datasets/fashion-mnist --class-names fashion-mnist \\
                --image-size 32 --output runs/fashion-mnist-data
            Greyscale becomes RGB with three equal channels, resized like photos. A truncated file, a wrong magic \
            number or a label file whose count disagrees with its images stops the conversion, naming the file.

            Under mpirun the ranks convert different shards:
              launch/mpirun.sh -n 2 .build/release/vqvae2 prepare --source /data/imagenet --output /data/in64
            Without a dataset, --demo writes a small procedurally drawn one first and converts it:
              vqvae2 prepare --demo runs/demo-source --output runs/demo-data

            Files that are not images, cannot be read or fail to decode are skipped and listed in the report and \
            in the manifest, never fatal. A finished output is not converted again unless --force is given; \
            shards finished by an interrupted run are kept. SIGTERM, SIGINT, SIGUSR1 or SIGUSR2 stops every rank \
            within a few dozen images: the shards in progress are removed and no manifest is written.
            """)

    @Option(help: "The ImageNet-layout folder, or the folder of IDX files, to convert.")
    var source: String?

    @Option(
        help: ArgumentHelp(
            "An IDX source's class names: fashion-mnist, numbers, or a file with one name per line.",
            valueName: "fashion-mnist|numbers|file"))
    var classNames: String?

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
        if demo != nil, classNames != nil { throw ValidationError("--class-names is for IDX sources, not --demo") }
    }

    func run() throws {
        let mpi = try MPIRuntime()
        reportingErrors(mpi.world, command: "vqvae2 prepare") {
            let signals = StopSignals()
            let options = PrepareOptions(
                source: demo ?? source!, output: output, imageSize: imageSize, trainShards: trainShards,
                heldoutShards: heldoutShards, seed: seed, validationLabels: valLabels, validationClassOrder: valClassOrder,
                classNames: classNames.map(ClassNameSource.init(argument:)))
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
