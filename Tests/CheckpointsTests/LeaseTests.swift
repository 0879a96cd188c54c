import Coordination
import Foundation
import MPI
import TestSupport
import XCTest
@testable import Checkpoints

/// The checkpoint directory's lease (generations, stale take-overs) and the fencing of checkpoints that a job wrote
/// after another had taken its lease over. A second live holder is refused across processes: see
/// Tests/MPITests/ResumeAndLeaseUnderMPITests.swift (fcntl locks never conflict within one process).
final class LeaseTests: XCTestCase {
    func testGenerationsRiseAndAStaleLeaseIsTakenOverWithAMessage() throws {
        let root = try temporaryRoot("lease")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var notes: [String] = []
        let first = try CheckpointLease.take(root: root, coordinator: Coordinator(SingleRank())) { notes.append($0) }
        XCTAssertEqual(first.generation, 1)
        first.release()
        let second = try CheckpointLease.take(root: root, coordinator: Coordinator(SingleRank())) { notes.append($0) }
        XCTAssertEqual(second.generation, 2)
        XCTAssertEqual(notes, [], "a released lease is taken over silently")
        second.release()

        // A holder that dies keeps no lock but leaves its record unreleased.
        let (descriptor, generation, _) = try CheckpointLease.takeLocally(root: root)
        XCTAssertEqual(generation, 3)
        close(descriptor)
        let third = try CheckpointLease.take(root: root, coordinator: Coordinator(SingleRank())) { notes.append($0) }
        XCTAssertEqual(third.generation, 4)
        XCTAssertEqual(notes.count, 1, "\(notes)")
        XCTAssertTrue(notes[0].contains("which ended without releasing it; this job is generation 4"), notes[0])
    }

    func testResumeChoiceFencesLaterStepsOfAnOlderGeneration() throws {
        let root = try temporaryRoot("fence")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = CheckpointWriter(root: root, keep: 10)
        for (step, generation) in [(10, 1), (20, 1), (30, 1), (25, 2), (28, 2)] {
            try save(writer, step: step, generation: generation)
        }
        let choice = try CheckpointCatalog.resumeChoice(in: root)
        XCTAssertEqual(choice.candidates.map(\.step), [28, 25, 20, 10])
        XCTAssertEqual(choice.fenced.map(\.step), [30])
        XCTAssertEqual(try CheckpointCatalog.latestCommitted(in: root), root + "/step-00000028")
        XCTAssertTrue(try CheckpointReport.list(root: root).contains("step-00000030  committed, fenced"))

        // Generation 2 reaching step 30 moves generation 1's checkpoint aside rather than keeping it as saved.
        let aside = try XCTUnwrap(try CheckpointCatalog.setAsideFenced(step: 30, in: root, below: 2))
        XCTAssertTrue(aside.contains("written under lease generation 1, not this job's 2"), aside)
        XCTAssertNil(try CheckpointCatalog.setAsideFenced(step: 28, in: root, below: 2), "same generation: kept")
        try save(writer, step: 30, generation: 2)
        let after = try CheckpointCatalog.resumeChoice(in: root)
        XCTAssertEqual(after.candidates.first?.step, 30)
        XCTAssertEqual(after.candidates.first?.generation, 2)
        XCTAssertEqual(after.fenced, [])
    }

    func testListVerifyMarksADamagedCheckpoint() throws {
        let root = try temporaryRoot("verify")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let writer = CheckpointWriter(root: root, keep: 10)
        try save(writer, step: 1, generation: 1)
        try save(writer, step: 2, generation: 1)
        let shard = root + "/step-00000002/shard-00001-of-00001.h5"
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: shard))
        try handle.seek(toOffset: 4000)
        try handle.write(contentsOf: Data(repeating: 0x5A, count: 16))
        try handle.close()
        let listing = try CheckpointReport.list(root: root, verify: true)
        XCTAssertTrue(listing.contains("step-00000001  committed, verified"), listing)
        XCTAssertTrue(listing.contains("step-00000002  DAMAGED (\(shard): shard CRC-32 is"), listing)
        XCTAssertFalse(try CheckpointReport.list(root: root).contains("DAMAGED"), "plain list reads manifests only")
    }

    private func save(_ writer: CheckpointWriter, step: Int, generation: Int) throws {
        let state = TestState(seed: UInt32(step))
        var metadata = TestState.metadata(step: step)
        metadata.leaseGeneration = generation
        try withExtendedLifetime(state) {
            _ = try writer.save(
                state.tensors, metadata: metadata, config: "c", modelFingerprint: "model-a",
                coordinator: Coordinator(SingleRank()))
        }
    }
}
