import Coordination
import Foundation
import MPI
import TestSupport
import XCTest
@testable import Checkpoints

/// A full disk during a save, injected (`VQVAE2_CHECKPOINT_FAULT`'s faults, which make the kernel fail the write)
/// and real (a small tmpfs), is reported as what it is with the path, and never harms the checkpoint before it.
final class IOFailureTests: XCTestCase {
    private var roots: [String] = []

    override func tearDown() { for root in roots { try? FileManager.default.removeItem(atPath: root) } }

    private func root(_ label: String) throws -> String {
        let root = try temporaryRoot(label)
        roots.append(root)
        return root
    }

    private func writer(_ root: String, fault: String? = nil) -> CheckpointWriter {
        CheckpointWriter(
            root: root, keep: 3, fault: FaultInjection(environment: fault.map { [FaultInjection.variable: $0] } ?? [:]))
    }

    private func save(_ writer: CheckpointWriter, _ state: TestState, step: Int) throws -> SavedCheckpoint {
        try writer.save(
            state.tensors, metadata: TestState.metadata(step: step), config: "config: \(step)", modelFingerprint: "model-a",
            coordinator: Coordinator(SingleRank()))
    }

    /// Only the earlier checkpoint is there, and it loads bit for bit.
    private func assertOnlyStep100Loads(_ root: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root).sorted(), ["step-00000100"], file: file, line: line)
        let loaded = TestState(seed: 0)
        _ = try Checkpoint(path: root + "/step-00000100").load(into: loaded.tensors, modelFingerprint: "model-a")
        XCTAssertTrue(loaded.identical(to: TestState(seed: 100)), file: file, line: line)
    }

    private func assertNoSpace(_ error: Error, naming path: String, file: StaticString = #filePath, line: UInt = #line) {
        let text = "\(error)"
        XCTAssertTrue(text.contains("no space left on device (ENOSPC)"), text, file: file, line: line)
        XCTAssertTrue(text.contains(path), "\(text) does not name \(path)", file: file, line: line)
    }

    func testAFullDiskUnderAShardFailsTheSaveNamingTheShard() throws {
        let root = try root("enospc-shard")
        _ = try saveSingle(writer(root), seed: 100, step: 100)
        XCTAssertThrowsError(try save(writer(root, fault: "enospc-shard:0"), TestState(seed: 200), step: 200)) { error in
            assertNoSpace(error, naming: "/shard-00001-of-00001.h5")
            XCTAssertTrue("\(error)".contains(root + "/step-00000200.tmp-"), "\(error)")
        }
        try assertOnlyStep100Loads(root)
    }

    func testAFullDiskUnderTheManifestFailsTheCommitNamingTheManifest() throws {
        let root = try root("enospc-manifest")
        _ = try saveSingle(writer(root), seed: 100, step: 100)
        XCTAssertThrowsError(try save(writer(root, fault: "enospc-manifest"), TestState(seed: 200), step: 200)) { error in
            assertNoSpace(error, naming: "/manifest.json")
            XCTAssertTrue("\(error)".contains("cannot write"), "\(error)")
        }
        try assertOnlyStep100Loads(root)
    }

    /// statvfs says the checkpoint cannot fit: the save is refused before a byte is written, with the numbers.
    func testTooLittleFreeSpaceIsRefusedBeforeWritingWithTheNumbers() throws {
        let scratch = try ScratchMount(bytes: 2 << 20, label: "ckpt-precheck")
        defer { scratch.unmount() }
        let root = scratch.path + "/checkpoints"
        _ = try saveSingle(writer(root), seed: 100, step: 100)
        let big = TestState(seed: 200, layout: TestState.layout + [("vqvae/extra", [300_000])])
        XCTAssertThrowsError(try save(writer(root), big, step: 200)) { error in
            guard let refused = error as? InsufficientSpace else { return XCTFail("\(error)") }
            XCTAssertEqual(refused.root, root)
            XCTAssertGreaterThan(refused.needed, 1_200_000)
            XCTAssertLessThan(refused.free, refused.needed)
            let text = "\(error)"
            XCTAssertTrue(text.contains("checkpoint directory \(root): not enough free space"), text)
            XCTAssertTrue(text.contains("needs about \(refused.needed) bytes"), text)
            XCTAssertTrue(text.contains("the filesystem has \(refused.free) free"), text)
        }
        try assertOnlyStep100Loads(root)
    }

    /// Past the free-space check (another writer filled the disk meanwhile), HDF5 meets the full tmpfs.
    func testARealFullDiskUnderAShardIsReportedByHDF5() throws {
        let scratch = try ScratchMount(bytes: 2 << 20, label: "ckpt-hdf5")
        defer { scratch.unmount() }
        let root = scratch.path + "/checkpoints"
        let writer = writer(root)
        _ = try saveSingle(writer, seed: 100, step: 100)
        try scratch.fill(leaving: 32 << 10)
        let state = TestState(seed: 200)
        let plan = ShardPlan(state.tensors, worldSize: 1)
        let directory = writer.temporaryDirectory(step: 200, nonce: "full")
        XCTAssertThrowsError(
            try writer.writeShard(state.tensors, plan: plan, rank: 0, worldSize: 1, step: 200, directory: directory)
        ) { error in
            assertNoSpace(error, naming: directory + "/shard-00001-of-00001.h5")
        }
        try FileManager.default.removeItem(atPath: directory)
        try FileManager.default.removeItem(atPath: scratch.path + "/filler")
        try assertOnlyStep100Loads(root)
    }

    /// The shards fit, the manifest does not: the commit fails naming it and removes the shards it would commit.
    func testARealFullDiskUnderTheManifestRemovesTheUncommittedShards() throws {
        let scratch = try ScratchMount(bytes: 2 << 20, label: "ckpt-manifest")
        defer { scratch.unmount() }
        let root = scratch.path + "/checkpoints"
        let writer = writer(root)
        _ = try saveSingle(writer, seed: 100, step: 100)
        let state = TestState(seed: 200)
        let plan = ShardPlan(state.tensors, worldSize: 1)
        let directory = writer.temporaryDirectory(step: 200, nonce: "full")
        let report = try writer.writeShard(state.tensors, plan: plan, rank: 0, worldSize: 1, step: 200, directory: directory)
        try scratch.fill()
        XCTAssertThrowsError(
            try writer.commit(
                state.tensors, plan: plan, reports: [report], metadata: TestState.metadata(step: 200), config: "",
                modelFingerprint: "model-a", directory: directory)
        ) { error in
            assertNoSpace(error, naming: directory + "/manifest.json")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory), "the uncommitted shards are removed")
        try FileManager.default.removeItem(atPath: scratch.path + "/filler")
        try assertOnlyStep100Loads(root)
    }
}
