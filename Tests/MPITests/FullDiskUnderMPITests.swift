import Foundation
import TestSupport
import XCTest

/// A full disk during a save by real ranks: injected into one rank's shard or rank 0's manifest
/// (`VQVAE2_CHECKPOINT_FAULT`), or found by the free-space check on a small tmpfs. The job fails with the cause and
/// the path, and the checkpoint before it still loads.
final class FullDiskUnderMPITests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws { root = try TestEnvironment.temporaryDirectory("mpi-full-disk").path }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    private func checkpoint(_ arguments: [String], fault: String? = nil) throws -> ProcessResult {
        let result = try TestEnvironment.mpirun(
            ranks: 2, [TestEnvironment.product("mpi-checks"), "checkpoint"] + arguments,
            environment: fault.map { ["VQVAE2_CHECKPOINT_FAULT": $0] } ?? [:], timeout: 120)
        XCTAssertFalse(result.timedOut, "mpirun hung:\n\(result.output)")
        return result
    }

    /// Saves step 100, runs `failing` (a save of step 200), and checks that only step 100 is there and loads.
    private func afterAFailedSave(in checkpoints: String, _ failing: () throws -> ProcessResult) throws -> String {
        let saved = try checkpoint(["save", checkpoints, "100", "3"])
        XCTAssertEqual(saved.status, 0, saved.output)
        let failed = try failing()
        XCTAssertNotEqual(failed.status, 0, failed.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: checkpoints), ["step-00000100"], failed.output)
        let loaded = try checkpoint(["load", checkpoints, "100"])
        XCTAssertEqual(loaded.status, 0, loaded.output)
        XCTAssertEqual(loaded.output.components(separatedBy: "loaded bit-identical").count - 1, 2, loaded.output)
        return failed.output
    }

    func testAFullDiskUnderRankOnesShardFailsTheSaveOnEveryRank() throws {
        let checkpoints = root + "/ckpt"
        let output = try afterAFailedSave(in: checkpoints) {
            try checkpoint(["save", checkpoints, "200", "3"], fault: "enospc-shard:1")
        }
        XCTAssertTrue(output.contains("/shard-00002-of-00002.h5: /"), output)
        XCTAssertTrue(output.contains("no space left on device (ENOSPC)"), output)
        XCTAssertTrue(output.contains("checkpoint shard write failed on 1 rank(s); nothing was committed"), output)
    }

    func testAFullDiskUnderTheManifestFailsTheCommitOnEveryRank() throws {
        let checkpoints = root + "/ckpt"
        let output = try afterAFailedSave(in: checkpoints) {
            try checkpoint(["save", checkpoints, "200", "3"], fault: "enospc-manifest")
        }
        XCTAssertTrue(output.contains("/manifest.json: cannot write"), output)
        XCTAssertTrue(output.contains("no space left on device (ENOSPC)"), output)
    }

    /// About 6.3 MB of state: the first save fits a 9 MiB tmpfs, the second is refused before a byte is written.
    func testTooLittleFreeSpaceFailsEveryRankBeforeWriting() throws {
        let scratch = try ScratchMount(bytes: 9 << 20, label: "mpi-precheck")
        defer { scratch.unmount() }
        let checkpoints = scratch.path + "/ckpt"
        let output = try afterAFailedSave(in: checkpoints) { try checkpoint(["save", checkpoints, "200", "3"]) }
        XCTAssertTrue(output.contains("checkpoint directory \(checkpoints): not enough free space for the checkpoint of step 200"), output)
        XCTAssertTrue(output.contains("checkpoint check failed on 1 rank(s); nothing was committed"), output)
    }
}
