import Coordination
import MPI
import Foundation
import XCTest
@testable import Checkpoints

/// Every way a checkpoint can be wrong is refused with a message naming the file and the tensor or field, before
/// the caller's buffers are touched.
final class LoadValidationTests: XCTestCase {
    private var root = ""
    private var path = ""

    override func setUpWithError() throws {
        root = try temporaryRoot("validate")
        path = try simulateSave(CheckpointWriter(root: root, keep: 3), TestState(seed: 7), step: 300, worldSize: 3)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    private func loadFails(_ fingerprint: String = "model-a", layout: [(String, [Int])] = TestState.layout,
                           file: StaticString = #filePath, line: UInt = #line) -> CheckpointError? {
        let state = TestState(seed: 0, layout: layout)
        let untouched = TestState(seed: 0, layout: layout)
        var caught: CheckpointError?
        XCTAssertThrowsError(try Checkpoint(path: path).load(into: state.tensors, modelFingerprint: fingerprint), file: file, line: line) {
            caught = $0 as? CheckpointError
        }
        XCTAssertTrue(state.identical(to: untouched), "a refused load changed the caller's buffers", file: file, line: line)
        return caught
    }

    func testAFlippedByteInAShardIsNamed() throws {
        let shard = path + "/shard-00002-of-00003.h5"
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: shard))
        try handle.seek(toOffset: 3000)
        let byte = try XCTUnwrap(try handle.read(upToCount: 1))
        try handle.seek(toOffset: 3000)
        try handle.write(contentsOf: Data([byte[0] ^ 0x10]))
        try handle.close()
        guard case .shardChecksum(let file, _, _)? = loadFails() else { return XCTFail("expected a checksum error") }
        XCTAssertEqual(file, shard)
        XCTAssertThrowsError(try Checkpoint(path: path).verify()) { XCTAssertTrue("\($0)".contains(shard), "\($0)") }
    }

    func testATruncatedOrMissingShardIsNamed() throws {
        let shard = path + "/shard-00003-of-00003.h5"
        try FileManager.default.removeItem(atPath: shard)
        XCTAssertEqual(loadFails(), .missingShard(file: shard))
        XCTAssertTrue("\(CheckpointError.missingShard(file: shard))".contains("missing"))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: shard))
        guard case .shardSize(let file, _, 3)? = loadFails() else { return XCTFail("expected a size error") }
        XCTAssertEqual(file, shard)
    }

    func testAnotherModelsCheckpointIsRefused() {
        let error = loadFails("model-b")
        XCTAssertEqual(error, .differentModel(checkpoint: path, found: "model-a", expected: "model-b"))
        XCTAssertEqual(
            error?.description,
            "checkpoint \(path) was written by a different model configuration: fingerprint model-a, this run model-b")
    }

    func testAMissingTensorOrADifferentShapeIsNamed() {
        XCTAssertEqual(loadFails(layout: [("vqvae/mid/codebook", [4])]), .missingTensor(checkpoint: path, tensor: "vqvae/mid/codebook"))
        XCTAssertEqual(
            loadFails(layout: [("vqvae/top/codebook", [32, 16])]),
            .shapeMismatch(checkpoint: path, tensor: "vqvae/top/codebook", stored: [64, 8], expected: [32, 16]))
    }

    func testABrokenManifestNamesTheField() throws {
        let manifestPath = path + "/manifest.json"
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath))) as? [String: Any])
        json.removeValue(forKey: "model_fingerprint")
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: manifestPath))
        XCTAssertThrowsError(try Checkpoint(path: path)) { error in
            XCTAssertEqual(error as? CheckpointError, .invalidManifest(file: manifestPath, field: "model_fingerprint", "missing"))
        }
        var shards = try XCTUnwrap(json["shards"] as? [[String: Any]])
        shards[1]["file"] = "elsewhere.h5"
        json["shards"] = shards
        json["model_fingerprint"] = "model-a"
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: manifestPath))
        XCTAssertThrowsError(try Checkpoint(path: path)) { error in
            guard case .invalidManifest(_, "shards[1].file", _)? = error as? CheckpointError else { return XCTFail("\(error)") }
        }
        try Data("{\"step\": ".utf8).write(to: URL(fileURLWithPath: manifestPath))
        XCTAssertThrowsError(try Checkpoint(path: path)) { XCTAssertTrue("\($0)".contains("not valid JSON"), "\($0)") }
        XCTAssertNil(try CheckpointCatalog.latestCommitted(in: root), "an unreadable manifest is no commit")
        XCTAssertTrue(try CheckpointReport.list(root: root).contains("invalid"))
    }

    func testLatestCommittedIgnoresTemporariesAndDirectoriesWithoutAManifest() throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/step-00000900.tmp-dead", withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: root + "/step-00000900.tmp-dead/manifest.json"))
        try manager.createDirectory(atPath: root + "/step-00000800", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root + "/notes", withIntermediateDirectories: true)
        XCTAssertEqual(try CheckpointCatalog.latestCommitted(in: root), path)
        XCTAssertThrowsError(try Checkpoint(path: root + "/step-00000800")) {
            XCTAssertEqual($0 as? CheckpointError, .notCommitted(directory: root + "/step-00000800"))
        }
        let listing = try CheckpointReport.list(root: root)
        XCTAssertTrue(listing.contains("step-00000300  committed  step 300  generation 0  3 shard(s)"), listing)
        XCTAssertTrue(listing.contains("step-00000900.tmp-dead  uncommitted"), listing)
        XCTAssertNil(try CheckpointCatalog.latestCommitted(in: root + "/absent"))
    }

    func testACommitRemovesTemporariesOlderThanTheRunAndKeepsNewerOnes() throws {
        let manager = FileManager.default
        let stale = root + "/step-00000400.tmp-died", fresh = root + "/step-00000400.tmp-inflight"
        try manager.createDirectory(atPath: stale, withIntermediateDirectories: true)
        try manager.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: stale)
        let writer = CheckpointWriter(root: root, keep: 3, runStart: Date(timeIntervalSinceNow: -60))
        try manager.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        let saved = try saveSingle(writer, seed: 8, step: 500)
        XCTAssertEqual(saved.removed, [stale])
        XCTAssertFalse(manager.fileExists(atPath: stale))
        XCTAssertTrue(manager.fileExists(atPath: fresh))
    }

    func testShowListsEveryTensorWithShapeShardAndChecksum() throws {
        let text = CheckpointReport.show(try Checkpoint(path: path))
        XCTAssertTrue(text.contains("step 300, written by 3 rank(s)"), text)
        XCTAssertTrue(text.contains("optimizer steps: top_prior=150, vqvae=300"), text)
        for (name, shape) in TestState.layout { XCTAssertTrue(text.contains("\(name)") && text.contains("\(shape)"), name) }
        XCTAssertEqual(text.components(separatedBy: "crc32 ").count - 1, 3 + TestState.layout.count, text)
    }

    func testTheProbePassesOnOneFilesystemAndLeavesNothing() throws {
        try SharedFilesystemProbe.run(root: root + "/probe", coordinator: Coordinator(SingleRank()))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/probe"), [])
    }
}
