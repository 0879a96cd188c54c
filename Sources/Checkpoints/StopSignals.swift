import Foundation
import MPI
import Synchronization

/// The number of the first stop signal received since the handlers were installed, 0 while none.
///
/// The one piece of global mutable state in this module, because a signal handler cannot reach anything else: a C
/// handler captures no context. A lock-free atomic store is async-signal-safe, unlike locks, allocation or I/O; the
/// handler does nothing more. A self-pipe would let a thread block on the signal, but the training loop only polls
/// at step boundaries, so a flag is all it needs.
private let firstStopSignal = Atomic<Int32>(0)

/// Turns SIGTERM, SIGINT, SIGUSR1 and SIGUSR2 into a stop request that the training loop polls at step
/// boundaries (and the ranks then agree on through the Coordinator); under mpirun, the SIGCONT with which Open MPI
/// begins to end a job counts too (`TeardownWatch`).
///
/// Open MPI's mpirun answers a SIGTERM or SIGINT of its own by sending every rank SIGCONT, SIGTERM
/// odls_base_sigkill_timeout later, and SIGKILL as long again after that (launch/mpirun.sh raises the timeout so
/// that a checkpoint fits); stopping at the SIGCONT leaves the save both waits. SIGUSR1 and SIGUSR2 are forwarded
/// at once and untouched. Install once per process.
package final class StopSignals: @unchecked Sendable {
    /// The signals handled, in the order they are installed.
    package static let handled: [Int32] = [SIGTERM, SIGINT, SIGUSR1, SIGUSR2]

    private var previous: [Int32: sigaction] = [:]

    /// Installs the handlers, clearing any earlier request. SA_RESTART keeps file and MPI calls that a signal
    /// interrupts from failing with EINTR.
    package init() {
        // Touching the global initialises it here, never lazily inside the handler.
        firstStopSignal.store(0, ordering: .sequentiallyConsistent)
        for number in Self.handled {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                _ = firstStopSignal.compareExchange(expected: 0, desired: number, ordering: .sequentiallyConsistent)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            var old = sigaction()
            sigaction(number, &action, &old)
            previous[number] = old
        }
    }

    /// Restores the handlers that were there before and clears the request.
    package func uninstall() {
        for (number, old) in previous {
            var action = old
            sigaction(number, &action, nil)
        }
        previous = [:]
        firstStopSignal.store(0, ordering: .sequentiallyConsistent)
    }

    /// True once any handled signal arrived.
    package var requested: Bool { signalNumber != nil }

    /// The first signal received, if any (later ones do not replace it); SIGCONT when Open MPI's teardown came
    /// before any of the handled signals.
    package var signalNumber: Int32? {
        let number = firstStopSignal.load(ordering: .sequentiallyConsistent)
        if number != 0 { return number }
        return TeardownWatch.noticed ? SIGCONT : nil
    }

    /// "SIGTERM", "SIGINT", "SIGUSR1", "SIGUSR2" or the SIGCONT of Open MPI's teardown, for the first signal received.
    package var signalName: String? {
        switch signalNumber {
        case SIGCONT?: return "SIGCONT: Open MPI is ending the job"
        case SIGTERM?: return "SIGTERM"
        case SIGINT?: return "SIGINT"
        case SIGUSR1?: return "SIGUSR1"
        case SIGUSR2?: return "SIGUSR2"
        case let other?: return "signal \(other)"
        case nil: return nil
        }
    }
}
