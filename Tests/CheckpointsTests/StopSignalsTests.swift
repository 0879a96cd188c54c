import Foundation
import XCTest
import Checkpoints

final class StopSignalsTests: XCTestCase {
    func testASignalSetsTheRequestAndTheFirstOneIsKept() {
        let signals = StopSignals()
        defer { signals.uninstall() }
        XCTAssertFalse(signals.requested)
        XCTAssertNil(signals.signalName)
        kill(getpid(), SIGUSR1)
        XCTAssertTrue(signals.requested)
        XCTAssertEqual(signals.signalNumber, SIGUSR1)
        raise(SIGTERM)
        XCTAssertEqual(signals.signalName, "SIGUSR1", "a later signal does not replace the first")
    }

    func testEveryHandledSignalIsCaughtAndUninstallRestoresTheHandlerBefore() {
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT"), (SIGUSR2, "SIGUSR2")] {
            let before = handler(of: number)
            let signals = StopSignals()
            XCTAssertNotEqual(handler(of: number), before)
            raise(number)
            XCTAssertEqual(signals.signalName, name)
            signals.uninstall()
            XCTAssertFalse(signals.requested)
            XCTAssertEqual(handler(of: number), before)
        }
    }

    private func handler(of number: Int32) -> Int? {
        var current = sigaction()
        sigaction(number, nil, &current)
        return current.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) }
    }
}
