import Configuration
import Foundation
import Model
import TestSupport
import Training
import XCTest

final class ExperimentConfigTests: XCTestCase {
    private func parse(_ text: String, path: String = "exp.yaml") throws -> ExperimentConfig {
        try ExperimentConfig.parse(try ConfigDocument(text: text, path: path))
    }

    func testTheDemoConfigWritesDownEveryKey() throws {
        let path = TestEnvironment.packageRoot.appendingPathComponent("configs/demo.yaml").path
        let demo = try ExperimentConfig.load(path: path)
        XCTAssertEqual(demo.model.codebookSize, 512)
        XCTAssertEqual(demo.model.residualChannels, 32)
        XCTAssertEqual(demo.train.schedule, .joint)
        XCTAssertEqual(demo.topPrior.attentionEvery, 5)
        XCTAssertEqual(demo.bottomPrior.attentionEvery, 0)
    }

    func testEveryCommittedConfigParsesAndWritesDownEveryKey() throws {
        let directory = TestEnvironment.packageRoot.appendingPathComponent("configs").path
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertTrue(files.contains("demo.yaml") && files.contains("fashion-mnist.yaml"), "\(files)")
        for file in files {
            let path = directory + "/" + file
            XCTAssertNoThrow(try ExperimentConfig.load(path: path), file)
            let document = try ConfigDocument(text: try String(contentsOfFile: path, encoding: .utf8), path: path)
            let written = document.sections.flatMap { section, keys in keys.keys.map { "\(section).\($0)" } }.sorted()
            XCTAssertEqual(written, ExperimentConfig.knownKeys, "configs/\(file) must list every setting")
        }
    }

    func testTheFashionMNISTConfigTrainsAt32PixelsOnTheQuickStartsShards() throws {
        let path = TestEnvironment.packageRoot.appendingPathComponent("configs/fashion-mnist.yaml").path
        let config = try ExperimentConfig.load(path: path)
        XCTAssertEqual(config.model.imageSize, 32)
        XCTAssertEqual(config.train.schedule, .joint)
        XCTAssertEqual(config.data.manifest, "runs/fashion-mnist-data/manifest.json", "where launch/quickstart.sh prepares")
    }

    /// The defaults live in the structs only: an empty file is exactly the structs' defaults, which are the paper's.
    func testAnEmptyConfigIsTheStructDefaultsAtThePaperValues() throws {
        let parsed = try parse("")
        XCTAssertEqual(parsed, ExperimentConfig(), "the parser's defaults must be the structs'")
        XCTAssertEqual(parsed.model, VQVAEConfig())
        XCTAssertEqual(parsed.topPrior.channels, PriorConfig.paperTop.channels)
        XCTAssertEqual(parsed.bottomPrior, PriorConfig.paperBottom)
        XCTAssertEqual(parsed.model.imageSize, 256)
        XCTAssertEqual(parsed.model.residualChannels, 64)
        XCTAssertEqual(parsed.model.codebookSize, 512)
        XCTAssertEqual(parsed.model.codeDim, 64)
        XCTAssertEqual(parsed.train.globalBatch, 128)
        XCTAssertEqual(parsed.train.learningRate, 3e-4)
        XCTAssertEqual(parsed.train.decay, .constant)
        for prior in [parsed.topPrior, parsed.bottomPrior] {
            XCTAssertEqual(prior.channels, 512)
            XCTAssertEqual(prior.layers, 20)
            XCTAssertEqual(prior.kernel, 5)
        }
        XCTAssertEqual(parsed.topPrior.attentionEvery, 5)
        XCTAssertEqual(parsed.topPrior.heads, 8)
        XCTAssertEqual(parsed.bottomPrior.attentionEvery, 0)
        XCTAssertEqual(parsed.bottomPrior.conditioningLayers, 20)
        XCTAssertEqual(try parse("train:\n  decay: cosine\n").train.decay, .cosine)
    }

    func testImpossibleValuesNameTheFileAndKey() {
        let cases = [
            ("model:\n  image_size: 60\n", "exp.yaml:2: model.image_size = 60: must be a positive multiple of 8"),
            ("model:\n  codebook_size: 0\n", "exp.yaml:2: model.codebook_size = 0: must be positive"),
            ("top_prior:\n  channels: 100\n  heads: 8\n", "exp.yaml:3: top_prior.heads = 8: must divide top_prior.channels = 100"),
            ("train:\n  schedule: fast\n", "exp.yaml:2: train.schedule: expected one of joint, vqvae, priors, found 'fast'"),
            ("train:\n  global_batch: many\n", "exp.yaml:2: train.global_batch: expected an integer, found 'many'"),
            ("bottom_prior:\n  kernel: 4\n", "exp.yaml:2: bottom_prior.kernel = 4: must be odd"),
            ("intervals:\n  every: 5\n", "exp.yaml:2: unknown key intervals.every"),
            ("trian:\n  steps: 5\n", "exp.yaml:1: unknown section 'trian'"),
            ("distributed:\n  threads_per_rank: 0\n", "exp.yaml:2: distributed.threads_per_rank = 0: must be positive"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try parse(text), text) { XCTAssertTrue("\($0)".hasPrefix(expected), "\(text) -> \($0)") }
        }
    }

    func testTheBatchMustSplitOverRanksAndMicroBatches() throws {
        let config = try parse("train:\n  global_batch: 12\n  micro_batches: 2\n", path: "b.yaml")
        XCTAssertNoThrow(try config.validate(worldSize: 3))
        XCTAssertThrowsError(try config.validate(worldSize: 5)) { XCTAssertTrue("\($0)".contains("does not split evenly over 5 ranks")) }
        XCTAssertThrowsError(try config.validate(worldSize: 4)) { XCTAssertTrue("\($0)".contains("train.micro_batches = 2 does not divide the per-rank batch 3")) }
    }

    func testOverridesApplyAndAreCheckedLikeFileValues() throws {
        let directory = try TestEnvironment.temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("e.yaml").path
        try "train:\n  steps: 10\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ExperimentConfig.load(path: path, overrides: ["train.steps=3"]).train.steps, 3)
        XCTAssertThrowsError(try ExperimentConfig.load(path: path, overrides: ["model.channels=7"])) {
            XCTAssertTrue("\($0)".contains("model.channels = 7"), "\($0)")
        }
        // A bad value from the command line is reported against the --set that gave it, not the file.
        for (override, expected) in [
            ("train.steps=many", "--set train.steps=many: train.steps: expected an integer, found 'many'"),
            ("model.channels=7", "--set model.channels=7: model.channels = 7: must be a positive multiple of 2"),
            ("train.stepz=3", "--set train.stepz=3: unknown key train.stepz"),
            ("trian.steps=3", "--set trian.steps=3: unknown section 'trian'"),
            ("top_prior.heads=3", "--set top_prior.heads=3: top_prior.heads = 3: must divide top_prior.channels"),
        ] {
            XCTAssertThrowsError(try ExperimentConfig.load(path: path, overrides: [override])) {
                XCTAssertTrue("\($0)".hasPrefix(expected), "\($0)")
                XCTAssertFalse("\($0)".contains("e.yaml"), "\($0)")
            }
        }
        try "train:\n  steps: ten\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ExperimentConfig.load(path: path)) {
            XCTAssertTrue("\($0)".hasPrefix(path + ":2: train.steps: expected an integer"), "a file value keeps its line: \($0)")
        }
        XCTAssertThrowsError(try ExperimentConfig.load(path: directory.path + "/missing.yaml")) {
            XCTAssertTrue("\($0)".contains("missing.yaml: cannot read"), "\($0)")
        }
    }
}
