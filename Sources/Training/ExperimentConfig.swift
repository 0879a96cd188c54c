import Configuration
import Foundation
import Model

/// Everything one experiment needs, read strictly from a config file (configs/*.yaml) plus command-line overrides.
///
/// Keys are snake_case versions of the fields; configs/demo.yaml writes every one of them down with its default.
public struct ExperimentConfig: Sendable, Equatable {
    public var model = VQVAEConfig()
    public var topPrior = PriorConfig.small
    public var bottomPrior = PriorConfig.small
    public var data = DataSettings()
    public var train = TrainSettings()
    public var intervals = IntervalSettings()
    public var checkpoints = CheckpointSettings()
    public var distributed = DistributedSettings()
    /// Where metrics, pictures and checkpoints of the run go.
    public var runDirectory = "runs/demo"
    /// The text of the file the config came from (saved beside checkpoints; the model fingerprint hashes it).
    public var sourcePath = ""

    public init() {}

    /// Which parts a step trains.
    public enum Schedule: String, Sendable, CaseIterable {
        /// VQ-VAE and both priors every step, the priors on the batch's codes.
        case joint
        /// The staged schedule's first part: the VQ-VAE alone.
        case vqvae
        /// The staged schedule's second part: the priors alone, on extracted code shards.
        case priors
    }

    public struct DataSettings: Sendable, Equatable {
        public var manifest = "runs/demo-data/manifest.json"
        /// Code shards' manifest for the `priors` schedule (written by `vqvae2 extract-codes`).
        public var codesManifest = "runs/demo/codes/manifest.json"
        public var trainSplit = "train"
        public var heldoutSplit = "heldout"
        public var flip = true
        public var prefetch = 3
        public var verifyChecksums = false
        public var imagesDataset = "images"
        public var labelsDataset = "labels"
    }

    public struct TrainSettings: Sendable, Equatable {
        public var schedule = Schedule.joint
        public var seed: UInt64 = 0
        public var globalBatch = 32
        /// Micro-batches per rank per step: the rank's share is split and gradients summed before one update.
        public var microBatches = 1
        public var steps = 1000
        public var learningRate: Float = 3e-4
        public var priorLearningRate: Float = 3e-4
        public var warmupSteps = 0
        public var decay = "constant"
        public var minimumLearningRate: Float = 0
        public var weightDecay: Float = 0
        /// Global-norm clipping of each model's gradients; 0 turns it off.
        public var clipGradientNorm: Float = 0
        public var adamBeta1: Float = 0.9
        public var adamBeta2: Float = 0.999
        public var adamEpsilon: Float = 1e-8
    }

    public struct IntervalSettings: Sendable, Equatable {
        /// Steps between progress lines and metrics records.
        public var logEvery = 10
        /// Steps between checks that every rank holds bit-identical parameters, optimiser state and codebooks.
        public var checkEvery = 100
        public var checkpointEvery = 500
        public var evaluateEvery = 500
        public var picturesEvery = 500
    }

    public struct CheckpointSettings: Sendable, Equatable {
        public var directory = "runs/demo/checkpoints"
        /// Committed checkpoints kept; older ones are deleted after a new one commits.
        public var keep = 3
    }

    public struct DistributedSettings: Sendable, Equatable {
        public var bucketMegabytes: Float = 2
        /// Start each model's gradient all-reduce as soon as its backward is done, overlapping the next one's.
        public var overlap = true
    }

    /// Reads `path`, applies `overrides` ("section.key=value"), and checks every value.
    public static func load(path: String, overrides: [String] = []) throws -> ExperimentConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: path, line: 0, "cannot read the config file")
        }
        var document = try ConfigDocument(text: String(decoding: data, as: UTF8.self), path: path)
        for o in overrides { try document.override(o) }
        var config = try parse(document)
        config.sourcePath = path
        return config
    }

    /// Every "section.key" a config file may set.
    public static var knownKeys: [String] {
        let reader = ConfigReader(try! ConfigDocument(text: "", path: "(defaults)"))
        _ = try! parse(reader)
        return reader.requestedKeys
    }

    /// Builds the config from a parsed document; every key not read here is an error.
    public static func parse(_ document: ConfigDocument) throws -> ExperimentConfig {
        try parse(ConfigReader(document))
    }

    private static func parse(_ reader: ConfigReader) throws -> ExperimentConfig {
        let document = reader.document
        var c = ExperimentConfig()
        let positive = Check.positive as (Int) -> String?

        let m = reader.section("model")
        c.model.imageSize = try m.int("image_size", default: 64, check: Check.multiple(of: 8))
        c.model.channels = try m.int("channels", default: 128, check: Check.multiple(of: 2))
        c.model.residualChannels = try m.int("residual_channels", default: 32, check: positive)
        c.model.residualBlocks = try m.int("residual_blocks", default: 2, check: Check.nonNegative)
        c.model.codebookSize = try m.int("codebook_size", default: 512, check: positive)
        c.model.codeDim = try m.int("code_dim", default: 64, check: positive)
        c.model.beta = try m.float("beta", default: 0.25) { $0 >= 0 ? nil : "must not be negative" }
        c.model.emaDecay = try m.float("ema_decay", default: 0.99, check: Check.fraction)
        c.model.emaEpsilon = try m.float("ema_epsilon", default: 1e-5, check: Check.positive)
        c.model.deadCodeThreshold = try m.float("dead_code_threshold", default: 1) { $0 >= 0 ? nil : "must not be negative" }
        c.model.restartDeadCodes = try m.bool("restart_dead_codes", default: true)
        c.model.restartInterval = try m.int("restart_interval", default: 1, check: positive)

        for (name, isTop) in [("top_prior", true), ("bottom_prior", false)] {
            let s = reader.section(name)
            var p = PriorConfig.small
            p.codebookSize = c.model.codebookSize
            p.channels = try s.int("channels", default: 128, check: positive)
            p.layers = try s.int("layers", default: 10, check: positive)
            p.firstKernel = try s.int("first_kernel", default: 7) { $0 >= 3 && $0 % 2 == 1 ? nil : "must be odd and at least 3" }
            p.kernel = try s.int("kernel", default: 3) { $0 >= 1 && $0 % 2 == 1 ? nil : "must be odd" }
            p.dropout = try s.float("dropout", default: 0.1, check: Check.fraction)
            p.outputLayers = try s.int("output_layers", default: 2, check: positive)
            if isTop {
                p.attentionEvery = try s.int("attention_every", default: 5, check: Check.nonNegative)
                p.heads = try s.int("heads", default: 4, check: positive)
                if p.channels % p.heads != 0 {
                    throw ConfigError(
                        path: document.path, line: document.sections[name]?["heads"]?.line ?? 0,
                        "\(name).heads = \(p.heads): must divide \(name).channels = \(p.channels)")
                }
                p.conditioningLayers = 0
                c.topPrior = p
            } else {
                p.attentionEvery = 0
                p.conditioningLayers = try s.int("conditioning_layers", default: 2, check: Check.nonNegative)
                p.conditioningChannels = try s.int("conditioning_channels", default: 128, check: positive)
                c.bottomPrior = p
            }
        }

        let d = reader.section("data")
        c.data.manifest = try d.string("manifest", default: c.data.manifest)
        c.data.codesManifest = try d.string("codes_manifest", default: c.data.codesManifest)
        c.data.trainSplit = try d.string("train_split", default: "train")
        c.data.heldoutSplit = try d.string("heldout_split", default: "heldout")
        c.data.flip = try d.bool("flip", default: true)
        c.data.prefetch = try d.int("prefetch", default: 3, check: positive)
        c.data.verifyChecksums = try d.bool("verify_checksums", default: false)
        c.data.imagesDataset = try d.string("images_dataset", default: "images")
        c.data.labelsDataset = try d.string("labels_dataset", default: "labels")

        let t = reader.section("train")
        let schedule = try t.choice("schedule", default: "joint", from: Schedule.allCases.map(\.rawValue))
        c.train.schedule = Schedule(rawValue: schedule)!
        c.train.seed = try t.uint64("seed", default: 0)
        c.train.globalBatch = try t.int("global_batch", default: 32, check: positive)
        c.train.microBatches = try t.int("micro_batches", default: 1, check: positive)
        c.train.steps = try t.int("steps", default: 1000, check: Check.nonNegative)
        c.train.learningRate = try t.float("learning_rate", default: 3e-4, check: Check.positive)
        c.train.priorLearningRate = try t.float("prior_learning_rate", default: 3e-4, check: Check.positive)
        c.train.warmupSteps = try t.int("warmup_steps", default: 0, check: Check.nonNegative)
        c.train.decay = try t.choice("decay", default: "constant", from: ["constant", "cosine"])
        c.train.minimumLearningRate = try t.float("min_learning_rate", default: 0) { $0 >= 0 ? nil : "must not be negative" }
        c.train.weightDecay = try t.float("weight_decay", default: 0) { $0 >= 0 ? nil : "must not be negative" }
        c.train.clipGradientNorm = try t.float("clip_grad_norm", default: 0) { $0 >= 0 ? nil : "must not be negative (0 is off)" }
        c.train.adamBeta1 = try t.float("adam_beta1", default: 0.9, check: Check.fraction)
        c.train.adamBeta2 = try t.float("adam_beta2", default: 0.999, check: Check.fraction)
        c.train.adamEpsilon = try t.float("adam_epsilon", default: 1e-8, check: Check.positive)

        let i = reader.section("intervals")
        c.intervals.logEvery = try i.int("log_every", default: 10, check: positive)
        c.intervals.checkEvery = try i.int("check_every", default: 100, check: Check.nonNegative)
        c.intervals.checkpointEvery = try i.int("checkpoint_every", default: 500, check: Check.nonNegative)
        c.intervals.evaluateEvery = try i.int("evaluate_every", default: 500, check: Check.nonNegative)
        c.intervals.picturesEvery = try i.int("pictures_every", default: 500, check: Check.nonNegative)

        let k = reader.section("checkpoints")
        c.checkpoints.directory = try k.string("directory", default: c.checkpoints.directory)
        c.checkpoints.keep = try k.int("keep", default: 3, check: positive)

        let x = reader.section("distributed")
        c.distributed.bucketMegabytes = try x.float("bucket_mb", default: 2, check: Check.positive)
        c.distributed.overlap = try x.bool("overlap", default: true)

        c.runDirectory = try reader.section("run").string("directory", default: c.runDirectory)
        try reader.finish()
        return c
    }

    /// The check that needs the world size: the global batch must split into micro-batches on every rank.
    public func validate(worldSize: Int) throws {
        let perRank = train.globalBatch / max(worldSize, 1)
        guard train.globalBatch % worldSize == 0 else {
            throw ConfigError(
                path: sourcePath, line: 0,
                "train.global_batch = \(train.globalBatch) does not split evenly over \(worldSize) ranks")
        }
        guard perRank % train.microBatches == 0 else {
            throw ConfigError(
                path: sourcePath, line: 0,
                "train.micro_batches = \(train.microBatches) does not divide the per-rank batch \(perRank) (global \(train.globalBatch) over \(worldSize) ranks)")
        }
    }
}
