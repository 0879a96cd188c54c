import Foundation
import Synchronization

/// When Open MPI's daemon began ending the job (its SIGCONT), on the monotonic clock in nanoseconds; 0 before.
/// Global because a C signal handler captures no context; the handler only stores, which is async-signal-safe.
private let teardownNoticed = Atomic<UInt64>(0)

/// Notices that Open MPI is ending the job, and makes a rank that waits for a peer that has died leave at once.
///
/// When a rank dies, or mpirun itself gets SIGTERM, each daemon sends its ranks SIGCONT, sleeps
/// odls_base_sigkill_timeout, sends SIGTERM, sleeps as long again and sends SIGKILL, without checking whether they
/// are still there; the SIGCONT is the first news. If every peer is alive (mpirun was signalled), each reaches the
/// stop agreement within about one stretch of work and they save. If one is dead, the others sit in an MPI call
/// that cannot finish: a rank that waits in one call longer than `deadline` after the SIGCONT leaves a note for the
/// launcher (`LaunchReport`) and exits 1. The deadline grows with the longest stretch of work between two calls
/// seen on this rank, so that a slow but healthy step is never taken for a lost peer.
package enum TeardownWatch {
    /// The shortest deadline, for tiny steps and for jitter on a loaded machine.
    package static let minimumDeadline = 3.0
    /// How many of the longest stretches of work a rank waits for a peer.
    package static let workFactor = 3.0
    private static let pollMicroseconds: UInt32 = 50_000

    /// True once the daemon's SIGCONT has arrived.
    package static var noticed: Bool { teardownNoticed.load(ordering: .acquiring) != 0 }

    /// The wait after which a peer counts as lost, in seconds.
    package static func deadline(longestWork: Double) -> Double { max(minimumDeadline, workFactor * longestWork) }

    /// Handles SIGCONT and starts the watching thread; call once, after MPI_Init, in a process started by mpirun.
    static func start(clock: WaitClock, rank: Int) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            _ = teardownNoticed.compareExchange(expected: 0, desired: WaitClock.now(), ordering: .sequentiallyConsistent)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGCONT, &action, nil)
        let watcher = Thread {
            while true {
                usleep(pollMicroseconds)
                let noticedAt = teardownNoticed.load(ordering: .acquiring)
                guard noticedAt != 0, let blocked = clock.secondsBlocked else { continue }
                let waited = min(blocked, Double(WaitClock.now() &- noticedAt) / 1e9)
                let longest = clock.longestWorkSeconds
                if waited > deadline(longestWork: longest) { leave(rank: rank, waited: waited, longestWork: longest) }
            }
        }
        watcher.name = "teardown-watch"
        watcher.start()
    }

    private static func leave(rank: Int, waited: Double, longestWork: Double) -> Never {
        let line = String(
            format: "rank %d: Open MPI is ending the job (SIGCONT from its daemon) and this rank has waited %.1f s in one MPI call, more than %.0f x the longest work between calls (%.2f s): a peer rank is gone; exiting without saving",
            rank, waited, workFactor, longestWork)
        LaunchReport.noteFailure(rank: rank, line, printed: false)
        let text = "vqvae2: " + line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        _exit(1)
    }
}
