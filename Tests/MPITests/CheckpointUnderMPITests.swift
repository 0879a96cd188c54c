import Foundation
import TestSupport
import XCTest

/// Checkpoints written and read by real ranks (one mpirun job at a time): any world size loads what any other
/// wrote, a rank dying mid-save never yields a loadable checkpoint, a NaN state is refused on every rank, and the
/// shared-filesystem probe tells node-local directories apart.
final class CheckpointUnderMPITests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws { root = try TestEnvironment.temporaryDirectory("mpi-checkpoint").path }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    private func checkpoint(
        ranks: Int, _ arguments: [String], environment: [String: String] = [:], expect phrase: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProcessResult {
        let result = try TestEnvironment.mpirun(
            ranks: ranks, [TestEnvironment.product("mpi-checks"), "checkpoint"] + arguments, environment: environment,
            timeout: 120)
        XCTAssertFalse(result.timedOut, "mpirun hung:\n\(result.output)", file: file, line: line)
        if let phrase {
            XCTAssertEqual(result.status, 0, result.output, file: file, line: line)
            XCTAssertEqual(result.output.components(separatedBy: phrase).count - 1, ranks, result.output, file: file, line: line)
        }
        return result
    }

    private func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: root).sorted() }

    func testSavedByThreeLoadedByThreeTwoAndOneAndBack() throws {
        let ckpt = root + "/ckpt"
        _ = try checkpoint(ranks: 3, ["save", ckpt, "100", "2"], expect: "checkpoint saved")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: ckpt + "/step-00000100").sorted(),
            ["manifest.json", "shard-00001-of-00003.h5", "shard-00002-of-00003.h5", "shard-00003-of-00003.h5"])
        for ranks in [3, 2, 1] {
            _ = try checkpoint(ranks: ranks, ["load", ckpt, "100"], expect: "step 100 written by 3 rank(s) loaded bit-identical")
        }
        _ = try checkpoint(ranks: 2, ["save", ckpt, "200", "2"], expect: "checkpoint saved")
        for ranks in [2, 3] {
            _ = try checkpoint(ranks: ranks, ["load", ckpt, "200"], expect: "step 200 written by 2 rank(s) loaded bit-identical")
        }
    }

    func testARankDyingBetweenItsShardAndTheCommitLeavesThePreviousCheckpoint() throws {
        let ckpt = root + "/ckpt"
        _ = try checkpoint(ranks: 2, ["save", ckpt, "100", "3"], expect: "checkpoint saved")
        let died = try checkpoint(
            ranks: 2, ["save", ckpt, "200", "3"], environment: ["VQVAE2_CHECKPOINT_FAULT": "die-after-shard:1"])
        XCTAssertNotEqual(died.status, 0, died.output)
        XCTAssertTrue(died.output.contains("dying after writing its shard"), died.output)
        let left = try FileManager.default.contentsOfDirectory(atPath: ckpt).sorted()
        XCTAssertEqual(left.count, 2, "\(left)")
        XCTAssertEqual(left.first, "step-00000100")
        XCTAssertTrue(left.last!.hasPrefix("step-00000200.tmp-"), "\(left)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: ckpt + "/" + left.last! + "/manifest.json"))

        _ = try checkpoint(ranks: 2, ["load", ckpt, "100"], expect: "step 100 written by 2 rank(s) loaded bit-identical")
        _ = try checkpoint(ranks: 2, ["save", ckpt, "300", "3"], expect: "checkpoint saved")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: ckpt).sorted(), ["step-00000100", "step-00000300"],
            "the next commit removes the temporary the dead save left")
        _ = try checkpoint(ranks: 1, ["load", ckpt, "300"], expect: "step 300 written by 2 rank(s) loaded bit-identical")
    }

    func testANaNStateIsRefusedOnEveryRankAndChangesNothing() throws {
        let ckpt = root + "/ckpt"
        _ = try checkpoint(ranks: 2, ["save", ckpt, "100", "1"], expect: "checkpoint saved")
        let before = try FileManager.default.contentsOfDirectory(atPath: ckpt + "/step-00000100").sorted()
        let refused = try checkpoint(ranks: 2, ["nan", ckpt, "200", "1"], expect: "checkpoint refused")
        XCTAssertTrue(refused.output.contains("'vqvae/top/ema_counts' holds nan at element 3"), refused.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ckpt), ["step-00000100"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ckpt + "/step-00000100").sorted(), before)
    }

    func testTheProbeAcceptsASharedDirectoryAndNamesTheRanksOfAnUnsharedOne() throws {
        _ = try checkpoint(ranks: 2, ["probe", root + "/shared"], expect: "checkpoint directory shared")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/shared"), [], "probes are removed")
        let unshared = try checkpoint(ranks: 3, ["probe-unshared", root + "/local"], expect: "probe refused")
        XCTAssertTrue(unshared.output.contains("rank 0 cannot see the files of ranks [1, 2]"), unshared.output)
        XCTAssertTrue(unshared.output.contains("put checkpoints on a filesystem every node mounts"), unshared.output)
    }
}
