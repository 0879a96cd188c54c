import Foundation
import TensorBoard
import TestSupport
import Training
import XCTest

/// What `RunEvents` writes given the event files already in a run directory, read as TensorBoard reads them.
final class RunEventsTests: XCTestCase {
    private var directory: URL!
    private var run: String { directory.path }

    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("run-events") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func metrics(step: Int) -> StepMetrics {
        var m = StepMetrics()
        m.step = step
        m.reconstruction = Double(step) / 10
        return m
    }

    /// An earlier run's file: the train metrics of steps 1 to 4.
    private func earlierRun() throws {
        let events = try RunEvents(runDirectory: run, resumedStep: nil, warn: { XCTFail($0) })
        for step in 1...4 { try events.record(metrics(step: step)) }
    }

    private func mseSteps(_ path: String) throws -> [Int64] {
        try EventFileReader.read(path).compactMap { event in
            guard case .summary(let values) = event.what, values.contains(where: { $0.tag == "train/mse" }) else { return nil }
            return event.step
        }
    }

    func testAResumeRewritesTheStepsAfterItsCheckpointBehindAStart() throws {
        try earlierRun()
        let events = try RunEvents(runDirectory: run, resumedStep: 2, warn: { XCTFail($0) })
        try events.record(metrics(step: 2))
        XCTAssertNil(events.path, "step 2 is shown already: no file for it")
        try events.record(metrics(step: 3))
        let path = try XCTUnwrap(events.path)
        let written = try EventFileReader.read(path)
        XCTAssertEqual(written.dropFirst().first, Event(wallTime: written[1].wallTime, step: 3, what: .sessionLog(.start)))
        XCTAssertEqual(try mseSteps(path), [3])
    }

    /// A START in an earlier file already dropped steps 3 and 4: a run that writes them again (without a resume,
    /// as after a crash before its first log line) is not refused them.
    func testStepsAStartDroppedAreWrittenAgain() throws {
        try earlierRun()
        let resumed = try EventFileWriter(directory: run)
        try resumed.write([Event(wallTime: 1_700_000_010, step: 3, what: .sessionLog(.start))])
        let events = try RunEvents(runDirectory: run, resumedStep: nil, warn: { XCTFail($0) })
        try events.record(metrics(step: 4))
        try events.record(metrics(step: 2))
        XCTAssertEqual(try mseSteps(try XCTUnwrap(events.path)), [4])
    }

    func testADamagedEarlierFileIsNamedWithItsOffsetAndReadUpToTheDamage() throws {
        try earlierRun()
        let file = try XCTUnwrap(EventFileReader.files(in: run).first)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[bytes.count - 1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        var warnings: [String] = []
        let events = try RunEvents(runDirectory: run, resumedStep: nil, warn: { warnings.append($0) })
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings.first?.contains("\(file): the record at byte offset ") ?? false, "\(warnings)")
        try events.record(metrics(step: 3))
        try events.record(metrics(step: 4))
        XCTAssertEqual(try mseSteps(try XCTUnwrap(events.path)), [4], "step 4's record is the damaged one")
    }
}
