import Foundation
import TensorBoard
import TestSupport
import XCTest

/// `vqvae2 train` and its TensorBoard event files: every logged figure and both grids, a new file with a
/// SessionLog START on resume, and nothing written twice (metrics.jsonl or events) by a rerun of a finished run.
final class EventFileRunTests: XCTestCase {
    private var directory: URL!
    private var config = ""
    private var run: String { directory.path + "/run" }

    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("event-files")
        config = try TinyExperiment.writeConfig(in: directory)
        let prepared = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(prepared.status, 0, prepared.output)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func train(_ arguments: String...) throws {
        let result = try TestEnvironment.run(
            [TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "intervals.checkpoint_every=2",
             "--set", "intervals.evaluate_every=2"] + arguments)
        XCTAssertEqual(result.status, 0, result.output)
    }

    private func records(_ kind: String) throws -> [[String: Any]] {
        try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
            let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            return object?["kind"] as? String == kind ? object : nil
        }
    }

    /// Every (tag, step, value) of the summaries in `events`.
    private func points(_ events: [Event]) -> [(tag: String, step: Int64, kind: SummaryValue.Kind)] {
        events.flatMap { event -> [(tag: String, step: Int64, kind: SummaryValue.Kind)] in
            guard case .summary(let values) = event.what else { return [] }
            return values.map { ($0.tag, event.step, $0.kind) }
        }
    }

    private func scalar(_ tag: String, step: Int64, in events: [Event]) -> Float? {
        for point in points(events) where point.tag == tag && point.step == step {
            if case .scalar(let value) = point.kind { return value }
        }
        return nil
    }

    func testARunWritesEveryLoggedFigureAsAScalarAndBothGridsAsImages() throws {
        try train("--set", "train.steps=2")
        let files = EventFileReader.files(in: run)
        XCTAssertEqual(files.count, 1)
        let events = try EventFileReader.read(try XCTUnwrap(files.first))
        XCTAssertEqual(events.first?.what, .fileVersion("brain.Event:2"))
        XCTAssertFalse(events.contains { $0.what == .sessionLog(.start) }, "a fresh run resumes nothing")
        for record in try records("train") {
            let step = Int64(try XCTUnwrap(record["step"] as? Int))
            XCTAssertEqual(scalar("train/mse", step: step, in: events), Float(try XCTUnwrap(record["reconstruction"] as? Double)))
            XCTAssertEqual(scalar("train/commitment_top", step: step, in: events), Float(try XCTUnwrap(record["commitmentTop"] as? Double)))
            XCTAssertEqual(scalar("train/prior_nats_bottom", step: step, in: events), Float(try XCTUnwrap(record["bottomNats"] as? Double)))
            XCTAssertEqual(scalar("train/learning_rate", step: step, in: events), Float(try XCTUnwrap(record["learningRate"] as? Double)))
            XCTAssertNotNil(scalar("train/images_per_second", step: step, in: events))
        }
        let eval = try XCTUnwrap(try records("eval").first)
        XCTAssertEqual(scalar("eval/psnr", step: 2, in: events), Float(try XCTUnwrap(eval["psnr"] as? Double)))
        let top = try XCTUnwrap(eval["top"] as? [String: Any])
        XCTAssertEqual(scalar("eval/usage_top", step: 2, in: events), Float(try XCTUnwrap(top["usage"] as? Double)))
        let trainTags = Set(points(events).filter { $0.step == 1 }.map(\.tag))
        XCTAssertEqual(trainTags.count, 18, "\(trainTags.sorted())")
        XCTAssertEqual(Set(points(events).filter { $0.tag.hasPrefix("eval/") }.map(\.tag)).count, 18)
        for (tag, file) in [("pictures/reconstructions", "reconstructions.png"), ("pictures/samples", "samples.png")] {
            let images = points(events).filter { $0.tag == tag }
            XCTAssertEqual(images.map(\.step), [2], tag)
            guard case .image(let image) = images.first?.kind else { XCTFail(tag); continue }
            XCTAssertEqual(Data(image.encoded), FileManager.default.contents(atPath: run + "/pictures/" + file), tag)
            XCTAssertEqual(image.colorspace, 3)
            XCTAssertGreaterThan(image.width, 0)
        }
    }

    /// A crash after step 4 and a resume from step 2: the second file starts with SessionLog START at step 3, the
    /// first step taken again, and holds nothing earlier; metrics.jsonl holds each step once.
    func testAResumedRunOpensANewFileThatStartsWithSessionLogStart() throws {
        try train("--set", "train.steps=4")
        let first = EventFileReader.files(in: run)
        XCTAssertEqual(first.count, 1)
        try train("--set", "train.steps=4", "--resume", directory.path + "/checkpoints/step-00000002")
        let files = EventFileReader.files(in: run)
        XCTAssertEqual(files.count, 2)
        XCTAssertEqual(files.first, first.first, "the new file sorts after the old one")
        let resumed = try EventFileReader.read(files[1])
        XCTAssertEqual(resumed.first?.what, .fileVersion("brain.Event:2"))
        XCTAssertEqual(resumed.dropFirst().first?.what, .sessionLog(.start))
        XCTAssertEqual(resumed.dropFirst().first?.step, 3)
        XCTAssertEqual(Set(points(resumed).map(\.step)), [3, 4])
        XCTAssertNotNil(scalar("train/mse", step: 3, in: resumed))
        XCTAssertNotNil(scalar("eval/mse", step: 4, in: resumed))
        for kind in ["train", "eval"] {
            let steps = try records(kind).compactMap { $0["step"] as? Int }
            XCTAssertEqual(steps, kind == "train" ? [1, 2, 3, 4] : [2, 4], kind)
        }
    }

    /// The newest checkpoint is already at train.steps: the rerun evaluates and draws again, and writes none of it.
    func testRerunningAFinishedRunAddsNoRecordAndNoEventFile() throws {
        try train("--set", "train.steps=2")
        let metrics = FileManager.default.contents(atPath: run + "/metrics.jsonl")
        let files = EventFileReader.files(in: run)
        let contents = files.map { FileManager.default.contents(atPath: $0) }
        XCTAssertEqual(try records("eval").count, 1)
        try train("--set", "train.steps=2", "--resume", "auto")
        XCTAssertEqual(FileManager.default.contents(atPath: run + "/metrics.jsonl"), metrics)
        XCTAssertEqual(EventFileReader.files(in: run), files)
        XCTAssertEqual(files.map { FileManager.default.contents(atPath: $0) }, contents)
    }
}
