import Checkpoints
import Coordination
import Foundation

/// Where a long phase asks whether to stop: the process's stop signals, or a test's stand-in.
package struct StopRequest {
    /// True once this rank was asked to stop.
    package let requested: () -> Bool
    /// The signal that asked, for the message.
    package let signalName: () -> String?

    package init(requested: @escaping () -> Bool, signalName: @escaping () -> String? = { nil }) {
        self.requested = requested
        self.signalName = signalName
    }

    /// The requests `signals` records (none without them).
    package static func signals(_ signals: StopSignals?) -> StopRequest {
        StopRequest(requested: { signals?.requested ?? false }, signalName: { signals?.signalName })
    }

    /// A phase nothing stops.
    package static var never: StopRequest { StopRequest(requested: { false }) }
}

/// A long phase (evaluation, code extraction, prepare, export) ended by a stop signal, on every rank together,
/// leaving nothing partial behind. Every rank throws it alike, so only rank 0 reports it.
package struct PhaseStopped: CollectiveFailure, CustomStringConvertible {
    /// What was stopped, e.g. "evaluation".
    package let phase: String
    /// The signal this rank received; nil when the request reached another rank.
    package let signal: String?
    /// What the stop left on disk, e.g. "no report was written".
    package let left: String

    package var description: String { "\(phase) stopped by a stop signal (\(signal ?? "sent to another rank")); \(left)" }
}

/// Work that every rank does in units (batches, images, datasets), with the ranks agreeing every `interval` units,
/// in one small all-reduce, whether to go on: they stop together when any rank got a stop signal
/// (`PhaseStopped`) or failed (its error, on every rank, through `Coordinator.agree`).
///
/// Every rank makes the same agreements in the same order, as `GridSampling`'s ranks do: `units` is the busiest
/// rank's count, the same on every rank, a rank whose own units are done keeps answering until then, and a rank
/// whose work failed answers once more, with its failure, so that the others leave at that agreement too.
package final class StoppablePhase {
    package let name: String
    private let coordinator: Coordinator
    private let units: Int
    private let interval: Int
    private let stop: StopRequest
    private let left: String
    private let slowdown: Double
    private var done = 0
    private var agreements = 0

    /// A test-only slow-down, `VQVAE2_PHASE_SLOWDOWN=SECONDS` per unit, so that a tiny phase lasts long enough to be
    /// signalled from outside.
    static let slowdownVariable = "VQVAE2_PHASE_SLOWDOWN"

    private enum Verdict: Double { case goOn = 0, stop = 1, failed = 2 }

    /// Unwinds a rank's work once the ranks agreed to leave.
    private struct Leave: Error { let verdict: Verdict }

    /// `units` must be the same on every rank (the busiest rank's); `left` says, for the message, what a stop leaves.
    package init(
        _ name: String, coordinator: Coordinator, units: Int, interval: Int = 1, stop: StopRequest, left: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        precondition(units >= 0 && interval >= 1, "a phase of \(units) units agreeing every \(interval)")
        self.name = name
        self.coordinator = coordinator
        self.units = units
        self.interval = interval
        self.stop = stop
        self.left = left
        slowdown = environment[Self.slowdownVariable].flatMap(Double.init) ?? 0
    }

    private var totalAgreements: Int { (units + interval - 1) / interval }

    /// Runs this rank's `work`, which calls `unitDone()` after each of its units, and returns every rank's result
    /// in rank order. Throws `PhaseStopped` on every rank when a stop was agreed; a failure, on the failing rank its
    /// own error and on the others `CoordinationError.ranksFailed` naming it.
    package func run<T: Codable>(_ work: () throws -> T) throws -> [T] {
        var outcome: Result<T, Error>
        do {
            let value = try work()
            while agreements < totalAgreements { try leaveUnlessGoingOn(try agree(failed: false)) }
            outcome = .success(value)
        } catch let leave as Leave {
            outcome = .failure(leave)
        } catch {
            outcome = .failure(error)
            if agreements < totalAgreements { _ = try agree(failed: true) }
        }
        if case .failure(let leave as Leave) = outcome, leave.verdict == .stop {
            throw PhaseStopped(phase: name, signal: stop.signalName(), left: left)
        }
        // A rank that left for another's failure has no result; the failing rank's error reaches every rank here.
        // Results travel in arrays: JSON would fold an optional T's nil into "no result".
        let results = try coordinator.agree(name) { () -> [T] in
            switch outcome {
            case .success(let value): return [value]
            case .failure(let error as Leave) where error.verdict == .failed: return []
            case .failure(let error): throw error
            }
        }
        return results.map { $0[0] }
    }

    /// Marks one of this rank's units done; at every `interval`-th (and the last) the ranks agree, and this throws
    /// to leave the work when they agreed to stop.
    package func unitDone() throws {
        precondition(done < units, "\(name): more units than the \(units) agreed")
        done += 1
        if slowdown > 0 { Thread.sleep(forTimeInterval: slowdown) }
        if done % interval == 0 || done == units { try leaveUnlessGoingOn(try agree(failed: false)) }
    }

    private func agree(failed: Bool) throws -> Verdict {
        let mine: Verdict = failed ? .failed : stop.requested() ? .stop : .goOn
        agreements += 1
        return Verdict(rawValue: try coordinator.maximum(mine.rawValue)) ?? .failed
    }

    private func leaveUnlessGoingOn(_ verdict: Verdict) throws {
        if verdict != .goOn { throw Leave(verdict: verdict) }
    }
}
