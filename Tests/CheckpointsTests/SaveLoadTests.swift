import Coordination
import MPI
import Foundation
import HDF5
import TestSupport
import XCTest
@testable import Checkpoints

/// Saves and loads without MPI: a world of one through the collective `save`, and several simulated ranks through
/// the writer's file-level steps.
final class SaveLoadTests: XCTestCase {
    func testAWorldOfOneSavesAndLoadsBitIdentically() throws {
        let root = try temporaryRoot("single")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let state = TestState(seed: 1)
        let saved = try CheckpointWriter(root: root, keep: 3).save(
            state.tensors, metadata: TestState.metadata(step: 1200), config: "lr: 3e-4", modelFingerprint: "model-a",
            coordinator: Coordinator(SingleRank()))
        XCTAssertEqual(saved.path, root + "/step-00001200")
        XCTAssertFalse(saved.reused)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: saved.path).sorted(),
            ["manifest.json", "shard-00001-of-00001.h5"])

        XCTAssertEqual(try CheckpointCatalog.latestCommitted(in: root), saved.path)
        let loaded = TestState(seed: 99)
        let checkpoint = try Checkpoint(path: saved.path)
        XCTAssertEqual(try checkpoint.load(into: loaded.tensors, modelFingerprint: "model-a"), TestState.metadata(step: 1200))
        XCTAssertTrue(loaded.identical(to: state))
        XCTAssertEqual(checkpoint.manifest.config, "lr: 3e-4")
        try checkpoint.verify()
    }

    func testFourSimulatedRanksAreLoadedWhole() throws {
        let root = try temporaryRoot("four")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let state = TestState(seed: 4)
        let path = try simulateSave(CheckpointWriter(root: root, keep: 2), state, step: 10, worldSize: 4)
        let checkpoint = try Checkpoint(path: path)
        XCTAssertEqual(checkpoint.manifest.worldSize, 4)
        XCTAssertEqual(Set(checkpoint.manifest.tensors.map(\.shard)), [0, 1, 2, 3], "every rank writes a share")
        let loaded = TestState(seed: 0)
        _ = try checkpoint.load(into: loaded.tensors, modelFingerprint: "model-a")
        XCTAssertTrue(loaded.identical(to: state))

        let subset = TestState(seed: 0, layout: [("vqvae/top/codebook", [64, 8])])
        _ = try checkpoint.load(into: subset.tensors, modelFingerprint: "model-a")
        XCTAssertEqual(subset.tensors[0].buffer.map(\.bitPattern), state.tensors[3].buffer.map(\.bitPattern))
    }

    func testKeepTwoKeepsExactlyTheNewestTwoCommitted() throws {
        let root = try temporaryRoot("keep")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = CheckpointWriter(root: root, keep: 2)
        for step in [100, 200, 300, 400] {
            let saved = try saveSingle(writer, seed: UInt32(step), step: step)
            XCTAssertEqual(saved.removed.count, step >= 300 ? 1 : 0)
        }
        XCTAssertEqual(try CheckpointCatalog.committed(in: root).map(\.name), ["step-00000300", "step-00000400"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root).sorted(), ["step-00000300", "step-00000400"])
    }

    func testANonFiniteStateIsRefusedAndEarlierCheckpointsStay() throws {
        let root = try temporaryRoot("nan")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = CheckpointWriter(root: root, keep: 1)
        _ = try saveSingle(writer, seed: 1, step: 100)
        let before = try FileManager.default.contentsOfDirectory(atPath: root)
        let bad = TestState(seed: 2)
        bad.tensors[4].buffer[7] = .nan
        XCTAssertThrowsError(try writer.save(
            bad.tensors, metadata: TestState.metadata(step: 200), config: "", modelFingerprint: "model-a",
            coordinator: Coordinator(SingleRank()))
        ) { error in
            guard case .nonFinite("vqvae/top/ema_counts", 7, let value)? = error as? CheckpointError, value.isNaN else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue("\(error)".contains("existing checkpoints were left untouched"), "\(error)")
        }
        bad.tensors[4].buffer[7] = -.infinity
        XCTAssertThrowsError(try writer.save(
            bad.tensors, metadata: TestState.metadata(step: 200), config: "", modelFingerprint: "model-a",
            coordinator: Coordinator(SingleRank())))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), before)
        XCTAssertEqual(try CheckpointCatalog.latestCommitted(in: root), root + "/step-00000100")
    }

    func testSavingAStepThatIsAlreadyCommittedKeepsIt() throws {
        let root = try temporaryRoot("again")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = CheckpointWriter(root: root, keep: 2)
        let first = try saveSingle(writer, seed: 1, step: 100)
        let manifest = try Data(contentsOf: URL(fileURLWithPath: first.path + "/manifest.json"))
        let again = try saveSingle(writer, seed: 1, step: 100)
        XCTAssertTrue(again.reused)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: first.path + "/manifest.json")), manifest)
    }

    func testInvalidTensorListsAreRefusedNamingTheTensor() throws {
        let root = try temporaryRoot("names")
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (layout, name) in [
            ([("vqvae//m", [2])], "vqvae//m"), ([("/abs", [2])], "/abs"), ([("a", [2]), ("a", [2])], "a"),
            ([("a", [2]), ("a/b", [2])], "a/b"), ([("s", [])], "s"),
        ] as [([(String, [Int])], String)] {
            let state = TestState(seed: 1, layout: layout)
            XCTAssertThrowsError(try withExtendedLifetime(state) {
                try CheckpointWriter(root: root, keep: 1).save(
                    state.tensors, metadata: TestState.metadata(step: 1), config: "", modelFingerprint: "m",
                    coordinator: Coordinator(SingleRank()))
            }) { error in
                guard case .invalidTensor(let named, _)? = error as? CheckpointError else { return XCTFail("\(error)") }
                XCTAssertEqual(named, name)
            }
        }
        XCTAssertEqual(try CheckpointCatalog.entries(in: root), [])
    }

    func testShardsAreReadableByH5dumpByTensorName() throws {
        let root = try temporaryRoot("h5dump")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = try simulateSave(CheckpointWriter(root: root, keep: 1), TestState(seed: 3), step: 5, worldSize: 2)
        let checkpoint = try Checkpoint(path: path)
        let record = checkpoint.manifest.tensor("vqvae/top/codebook")!
        let shard = checkpoint.shardPath(record.shard)
        let header = try TestEnvironment.run(["h5dump", "-H", "-d", "/vqvae/top/codebook", shard])
        XCTAssertEqual(header.status, 0, header.output)
        XCTAssertTrue(header.output.contains("DATASET \"/vqvae/top/codebook\""), header.output)
        XCTAssertTrue(header.output.contains("H5T_IEEE_F32LE"), header.output)
        XCTAssertTrue(header.output.contains("( 64, 8 )"), header.output)
        let file = try File(path: shard, mode: .readOnly)
        XCTAssertEqual(try file.root.attribute("world_size", as: Int64.self), [2])
    }
}
