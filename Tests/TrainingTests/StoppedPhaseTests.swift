import Checkpoints
import Coordination
import DataPipeline
import Foundation
import MPI
import TestSupport
import Training
import XCTest

/// Stop requests in the long phases, in one process: the phase ends with `PhaseStopped` at the next agreement and
/// leaves nothing partial (no report, code shard, manifest or export), finished prepare shards excepted.
final class StoppedPhaseTests: XCTestCase {
    private var directory: URL!
    private var config = ""

    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("stopped-phase")
        config = try TinyExperiment.writeConfig(in: directory)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A stop request that answers no `goOn` times, then yes; counts how often it was asked.
    private final class StopAfter: @unchecked Sendable {
        var asked = 0
        let goOn: Int
        init(_ goOn: Int) { self.goOn = goOn }
        var request: StopRequest {
            StopRequest(requested: { [self] in
                asked += 1
                return asked > goOn
            }, signalName: { "SIGUSR1" })
        }
    }

    private func prepare() throws {
        let prepared = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(prepared.status, 0, prepared.output)
    }

    /// The tiny model after two steps (its codebooks initialised), as `evaluate` loads it.
    private func trained() throws -> CheckpointedReplica {
        try prepare()
        let trained = try TestEnvironment.run([TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "train.steps=2"])
        XCTAssertEqual(trained.status, 0, trained.output)
        return try CheckpointedReplica.load(
            checkpoint: "auto", configPath: config, overrides: [], coordinator: Coordinator(SingleRank()))
    }

    /// Every file under the directory whose name marks it unfinished.
    private func partialFiles() throws -> [String] {
        let all = FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? []
        return all.filter { $0.hasSuffix(".partial") || $0.contains(".tmp-") }
    }

    func testAPhaseStopsAtTheAgreementAfterTheRequestAndSaysWhatItLeft() throws {
        let stop = StopAfter(2)
        let phase = StoppablePhase(
            "counting", coordinator: Coordinator(SingleRank()), units: 10, interval: 2, stop: stop.request,
            left: "nothing was written")
        var units = 0
        XCTAssertThrowsError(try phase.run { () -> Int in
            for _ in 0..<10 {
                units += 1
                try phase.unitDone()
            }
            return units
        }) { error in
            XCTAssertEqual("\(error)", "counting stopped by a stop signal (SIGUSR1); nothing was written")
            XCTAssertTrue(error is CollectiveFailure, "only rank 0 reports it")
        }
        XCTAssertEqual(units, 6, "agreements after units 2, 4 and 6; the third was asked to stop")
        XCTAssertEqual(stop.asked, 3)

        let finished = StoppablePhase("idle", coordinator: Coordinator(SingleRank()), units: 3, stop: .never, left: "")
        XCTAssertEqual(try finished.run { 7 }, [7], "a rank with no units of its own still agrees and finishes")
    }

    func testAFailureInsideAPhaseIsTheFailingRanksOwnError() throws {
        struct Broken: Error {}
        let phase = StoppablePhase("failing", coordinator: Coordinator(SingleRank()), units: 4, stop: .never, left: "")
        XCTAssertThrowsError(try phase.run { () -> Int in
            try phase.unitDone()
            throw Broken()
        }) { XCTAssertTrue($0 is Broken, "\($0)") }
    }

    func testAStoppedEvaluationThrowsAfterItsFirstBatch() throws {
        let loaded = try trained()
        let experiment = loaded.config, replica = loaded.replica
        let evaluation = try HeldOutEvaluation(manifestPath: experiment.data.manifest, split: "heldout", batch: 2)
        let stop = StopAfter(0)
        XCTAssertThrowsError(
            try evaluation.run(replica, coordinator: Coordinator(SingleRank()), step: 0, stop: stop.request)
        ) { XCTAssertEqual("\($0)", "evaluation stopped by a stop signal (SIGUSR1); no report was written") }
        XCTAssertEqual(stop.asked, 1)
        XCTAssertEqual(try evaluation.run(replica, coordinator: Coordinator(SingleRank()), step: 0).images, 8)
    }

    /// A stop in the second shard: the first is finished, the second's partial file removed, no manifest, and an
    /// earlier manifest (which the new shards would contradict) is gone.
    func testAStoppedExtractionLeavesNoPartialShardAndNoManifest() throws {
        let loaded = try trained()
        let experiment = loaded.config, replica = loaded.replica
        let output = directory.path + "/codes"
        let extraction = CodeExtraction(imageManifestPath: experiment.data.manifest, output: output, batch: 4)
        _ = try extraction.run(replica: replica, coordinator: Coordinator(SingleRank()), source: "test")
        XCTAssertTrue(FileManager.default.fileExists(atPath: output + "/manifest.json"))
        XCTAssertThrowsError(
            try extraction.run(replica: replica, coordinator: Coordinator(SingleRank()), source: "test", stop: StopAfter(3).request)
        ) { error in
            XCTAssertTrue("\(error)".hasPrefix("code extraction stopped by a stop signal (SIGUSR1); no manifest"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + "/manifest.json"))
        XCTAssertEqual(try partialFiles(), [])
    }

    /// Drawing the demo images agrees every 32 images too. Converting them, 32 images agree once, after the 32nd,
    /// which ends the second training shard: the first is kept, the second's partial file removed; the next run
    /// keeps the first and finishes.
    func testAStoppedPrepareKeepsFinishedShardsOnlyAndTheNextRunContinues() throws {
        let options = PrepareOptions(source: directory.path + "/src", output: directory.path + "/data", imageSize: 16, trainShards: 2)
        let demo = PrepareRun.Demo(directory: directory.path + "/src", classes: 4, trainPerClass: 8, validationPerClass: 2)
        var lines: [String] = []
        func prepare(demo: PrepareRun.Demo?, stop: StopRequest) throws {
            try PrepareRun(options: options, demo: demo, force: false).run(coordinator: Coordinator(SingleRank()), stop: stop) {
                lines.append($0)
            }
        }
        XCTAssertThrowsError(try prepare(demo: demo, stop: StopAfter(0).request)) { error in
            XCTAssertEqual(
                "\(error)", "prepare: set-up stopped by a stop signal (SIGUSR1); the demo images are incomplete, and no shard was written")
        }
        try prepare(demo: demo, stop: .never)
        try FileManager.default.removeItem(atPath: directory.path + "/data")
        XCTAssertThrowsError(try prepare(demo: nil, stop: StopAfter(0).request)) { error in
            XCTAssertEqual(
                "\(error)",
                "prepare stopped by a stop signal (SIGUSR1); no partial shard and no manifest were written "
                    + "(finished shards are kept: run it again to continue)")
        }
        let data = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/data").sorted()
        XCTAssertEqual(data, ["train-00000-of-00002.h5"], "\(lines)")
        XCTAssertEqual(try partialFiles(), [])

        lines = []
        try prepare(demo: nil, stop: .never)
        XCTAssertTrue(lines.contains("  kept 1 shard(s) finished by an earlier run"), "\(lines)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path + "/data/manifest.json"))
    }

    /// The export of a checkpoint stopped after three datasets: no output, no temporary.
    func testAStoppedExportWritesNothing() throws {
        let loaded = try trained()
        let output = directory.path + "/weights.h5"
        let stop = StopAfter(3)
        XCTAssertThrowsError(try WeightExport.export(
            checkpoint: loaded.path, configPath: nil, overrides: [], coordinator: Coordinator(SingleRank()), output: output,
            overwrite: false, stop: stop.request)
        ) { XCTAssertEqual("\($0)", "weight export stopped by a stop signal (SIGUSR1); \(output) was not written (a file already there is untouched)") }
        XCTAssertEqual(stop.asked, 4)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("weights") }, [])
    }
}
