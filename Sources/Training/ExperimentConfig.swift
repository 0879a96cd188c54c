import Configuration
import Foundation
import Model
import Numerics

/// Everything one experiment needs, read strictly from a config file (configs/*.yaml) plus command-line overrides.
///
/// Keys are snake_case versions of the fields. The defaults live here and in the model's config structs, and only
/// there: they are the paper's ImageNet 256 settings (docs/MODEL.md), so a config that omits a key gets the paper's
/// value. configs/demo.yaml writes every key down.
package struct ExperimentConfig: Sendable, Equatable {
    package var model = VQVAEConfig()
    package var topPrior = PriorConfig.paperTop
    package var bottomPrior = PriorConfig.paperBottom
    package var data = DataSettings()
    package var train = TrainSettings()
    package var intervals = IntervalSettings()
    package var checkpoints = CheckpointSettings()
    package var distributed = DistributedSettings()
    /// Where metrics, pictures and checkpoints of the run go.
    package var runDirectory = "runs/demo"
    /// The text of the file the config came from (saved beside checkpoints; the model fingerprint hashes it).
    package var sourcePath = ""

    package init() {}

    /// Which parts a step trains.
    package enum Schedule: String, Sendable, CaseIterable {
        /// VQ-VAE and both priors every step, the priors on the batch's codes.
        case joint
        /// The staged schedule's first part: the VQ-VAE alone.
        case vqvae
        /// The staged schedule's second part: the priors alone, on extracted code shards.
        case priors
    }

    package struct DataSettings: Sendable, Equatable {
        package var manifest = "runs/demo-data/manifest.json"
        /// Code shards' manifest for the `priors` schedule (written by `vqvae2 extract-codes`).
        package var codesManifest = "runs/demo/codes/manifest.json"
        package var trainSplit = "train"
        package var heldoutSplit = "heldout"
        package var flip = true
        package var prefetch = 3
        package var verifyChecksums = false
        package var imagesDataset = "images"
        package var labelsDataset = "labels"
    }

    package struct TrainSettings: Sendable, Equatable {
        package var schedule = Schedule.joint
        package var seed: UInt64 = 0
        /// The paper's global batch for the VQ-VAE.
        package var globalBatch = 128
        /// Micro-batches per rank per step: the rank's share is split and gradients summed before one update.
        package var microBatches = 1
        /// The priors keep of each gated layer only its inputs and outputs in forward and run the layer again in
        /// backward: less memory for one more forward of the gated layers, with bit-identical results.
        package var recomputeGatedLayers = false
        package var steps = 1000
        package var learningRate: Float = 3e-4
        package var priorLearningRate: Float = 3e-4
        package var warmupSteps = 0
        package var decay = LearningRateSchedule.Decay.constant
        package var minimumLearningRate: Float = 0
        package var weightDecay: Float = 0
        /// Global-norm clipping of each model's gradients; 0 turns it off.
        package var clipGradientNorm: Float = 0
        package var adamBeta1 = 0.9
        package var adamBeta2 = 0.999
        package var adamEpsilon: Float = 1e-8
    }

    package struct IntervalSettings: Sendable, Equatable {
        /// Steps between progress lines and metrics records.
        package var logEvery = 10
        /// Steps between checks that every rank holds bit-identical parameters, optimiser state and codebooks.
        package var checkEvery = 100
        package var checkpointEvery = 500
        package var evaluateEvery = 500
        package var picturesEvery = 500
    }

    package struct CheckpointSettings: Sendable, Equatable {
        package var directory = "runs/demo/checkpoints"
        /// Committed checkpoints kept; older ones are deleted after a new one commits.
        package var keep = 3
    }

    package struct DistributedSettings: Sendable, Equatable {
        package var bucketMegabytes: Float = 2
        /// Start each model's gradient all-reduce as soon as its backward is done, overlapping the next one's.
        package var overlap = true
        /// Threads of each rank (its matrix products and the loops around them); results do not depend on it.
        package var threadsPerRank = 1
    }

    /// Reads `path`, applies `overrides` ("section.key=value"), and checks every value.
    package static func load(path: String, overrides: [String] = []) throws -> ExperimentConfig {
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
    package static var knownKeys: [String] {
        let reader = ConfigReader(try! ConfigDocument(text: "", path: "(defaults)"))
        _ = try! parse(reader)
        return reader.requestedKeys
    }

    /// Builds the config from a parsed document; every key not read here is an error.
    package static func parse(_ document: ConfigDocument) throws -> ExperimentConfig {
        try parse(ConfigReader(document))
    }

    private static func parse(_ reader: ConfigReader) throws -> ExperimentConfig {
        let document = reader.document
        // Every default is the struct's own value.
        var c = ExperimentConfig()
        let positive = Check.positive as (Int) -> String?

        let m = reader.section("model")
        c.model.imageSize = try m.int("image_size", default: c.model.imageSize, check: Check.multiple(of: 8))
        c.model.channels = try m.int("channels", default: c.model.channels, check: Check.multiple(of: 2))
        c.model.residualChannels = try m.int("residual_channels", default: c.model.residualChannels, check: positive)
        c.model.residualBlocks = try m.int("residual_blocks", default: c.model.residualBlocks, check: Check.nonNegative)
        c.model.codebookSize = try m.int("codebook_size", default: c.model.codebookSize, check: positive)
        c.model.codeDim = try m.int("code_dim", default: c.model.codeDim, check: positive)
        c.model.beta = try m.float("beta", default: c.model.beta) { $0 >= 0 ? nil : "must not be negative" }
        c.model.emaDecay = try m.float("ema_decay", default: c.model.emaDecay, check: Check.fraction)
        c.model.emaEpsilon = try m.float("ema_epsilon", default: c.model.emaEpsilon, check: Check.positive)
        c.model.deadCodeThreshold = try m.float("dead_code_threshold", default: c.model.deadCodeThreshold) {
            $0 >= 0 ? nil : "must not be negative"
        }
        c.model.restartDeadCodes = try m.bool("restart_dead_codes", default: c.model.restartDeadCodes)
        c.model.restartInterval = try m.int("restart_interval", default: c.model.restartInterval, check: positive)

        for level in VQVAELevel.allCases {
            let name = level == .top ? "top_prior" : "bottom_prior"
            let s = reader.section(name)
            var p = level == .top ? c.topPrior : c.bottomPrior
            p.codebookSize = c.model.codebookSize
            p.channels = try s.int("channels", default: p.channels, check: positive)
            p.residualUnits = try s.int("residual_units", default: p.residualUnits, check: positive)
            p.layers = try s.int("layers", default: p.layers, check: positive)
            p.firstKernel = try s.int("first_kernel", default: p.firstKernel) {
                $0 >= 3 && $0 % 2 == 1 ? nil : "must be odd and at least 3"
            }
            p.kernel = try s.int("kernel", default: p.kernel) { $0 >= 1 && $0 % 2 == 1 ? nil : "must be odd" }
            p.dropout = try s.float("dropout", default: p.dropout, check: Check.fraction)
            p.outputLayers = try s.int("output_layers", default: p.outputLayers, check: positive)
            switch level {
            case .top:
                p.attentionEvery = try s.int("attention_every", default: p.attentionEvery, check: Check.nonNegative)
                p.heads = try s.int("heads", default: p.heads, check: positive)
                if p.channels % p.heads != 0 {
                    let message = "\(name).heads = \(p.heads): must divide \(name).channels = \(p.channels)"
                    let entry = document.sections[name]?["heads"] ?? document.sections[name]?["channels"]
                    throw entry.map { document.error(at: $0, message) } ?? ConfigError(path: document.path, line: 0, message)
                }
                c.topPrior = p
            case .bottom:
                p.conditioningLayers = try s.int("conditioning_layers", default: p.conditioningLayers, check: Check.nonNegative)
                p.conditioningChannels = try s.int("conditioning_channels", default: p.conditioningChannels, check: positive)
                c.bottomPrior = p
            }
        }

        let d = reader.section("data")
        c.data.manifest = try d.string("manifest", default: c.data.manifest)
        c.data.codesManifest = try d.string("codes_manifest", default: c.data.codesManifest)
        c.data.trainSplit = try d.string("train_split", default: c.data.trainSplit)
        c.data.heldoutSplit = try d.string("heldout_split", default: c.data.heldoutSplit)
        c.data.flip = try d.bool("flip", default: c.data.flip)
        c.data.prefetch = try d.int("prefetch", default: c.data.prefetch, check: positive)
        c.data.verifyChecksums = try d.bool("verify_checksums", default: c.data.verifyChecksums)
        c.data.imagesDataset = try d.string("images_dataset", default: c.data.imagesDataset)
        c.data.labelsDataset = try d.string("labels_dataset", default: c.data.labelsDataset)

        let t = reader.section("train")
        let schedule = try t.choice("schedule", default: c.train.schedule.rawValue, from: Schedule.allCases.map(\.rawValue))
        c.train.schedule = Schedule(rawValue: schedule)!
        c.train.seed = try t.uint64("seed", default: c.train.seed)
        c.train.globalBatch = try t.int("global_batch", default: c.train.globalBatch, check: positive)
        c.train.microBatches = try t.int("micro_batches", default: c.train.microBatches, check: positive)
        c.train.recomputeGatedLayers = try t.bool("recompute_gated_layers", default: c.train.recomputeGatedLayers)
        c.train.steps = try t.int("steps", default: c.train.steps, check: Check.nonNegative)
        c.train.learningRate = try t.float("learning_rate", default: c.train.learningRate, check: Check.positive)
        c.train.priorLearningRate = try t.float(
            "prior_learning_rate", default: c.train.priorLearningRate, check: Check.positive)
        c.train.warmupSteps = try t.int("warmup_steps", default: c.train.warmupSteps, check: Check.nonNegative)
        let decay = try t.choice(
            "decay", default: c.train.decay.rawValue, from: LearningRateSchedule.Decay.allCases.map(\.rawValue))
        c.train.decay = LearningRateSchedule.Decay(rawValue: decay)!
        c.train.minimumLearningRate = try t.float("min_learning_rate", default: c.train.minimumLearningRate) {
            $0 >= 0 ? nil : "must not be negative"
        }
        c.train.weightDecay = try t.float("weight_decay", default: c.train.weightDecay) {
            $0 >= 0 ? nil : "must not be negative"
        }
        c.train.clipGradientNorm = try t.float("clip_grad_norm", default: c.train.clipGradientNorm) {
            $0 >= 0 ? nil : "must not be negative (0 is off)"
        }
        c.train.adamBeta1 = try t.double("adam_beta1", default: c.train.adamBeta1, check: Check.fraction)
        c.train.adamBeta2 = try t.double("adam_beta2", default: c.train.adamBeta2, check: Check.fraction)
        c.train.adamEpsilon = try t.float("adam_epsilon", default: c.train.adamEpsilon, check: Check.positive)

        let i = reader.section("intervals")
        c.intervals.logEvery = try i.int("log_every", default: c.intervals.logEvery, check: positive)
        c.intervals.checkEvery = try i.int("check_every", default: c.intervals.checkEvery, check: Check.nonNegative)
        c.intervals.checkpointEvery = try i.int(
            "checkpoint_every", default: c.intervals.checkpointEvery, check: Check.nonNegative)
        c.intervals.evaluateEvery = try i.int("evaluate_every", default: c.intervals.evaluateEvery, check: Check.nonNegative)
        c.intervals.picturesEvery = try i.int("pictures_every", default: c.intervals.picturesEvery, check: Check.nonNegative)

        let k = reader.section("checkpoints")
        c.checkpoints.directory = try k.string("directory", default: c.checkpoints.directory)
        c.checkpoints.keep = try k.int("keep", default: c.checkpoints.keep, check: positive)

        let x = reader.section("distributed")
        c.distributed.bucketMegabytes = try x.float("bucket_mb", default: c.distributed.bucketMegabytes, check: Check.positive)
        c.distributed.overlap = try x.bool("overlap", default: c.distributed.overlap)
        c.distributed.threadsPerRank = try x.int(
            "threads_per_rank", default: c.distributed.threadsPerRank, check: positive)

        c.runDirectory = try reader.section("run").string("directory", default: c.runDirectory)
        try reader.finish()
        return c
    }

    /// The check that needs the world size: the global batch must split into micro-batches on every rank.
    package func validate(worldSize: Int) throws {
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
