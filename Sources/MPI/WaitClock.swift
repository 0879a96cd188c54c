import Glibc
import Synchronization

/// How long this rank has been blocked in its current MPI call, and the longest stretch of work it did between two
/// such calls: what `TeardownWatch` needs to tell a peer that is late from one that is gone.
///
/// Ranks run the same program on equal shares, so a healthy peer reaches a collective at most about one stretch of
/// work after this rank does; a wait far longer than the longest stretch seen means the peer is not coming.
package final class WaitClock: Sendable {
    private let blockedSince = Atomic<UInt64>(0)
    private let lastReturn: Atomic<UInt64>
    private let longestWork = Atomic<UInt64>(0)

    /// Starts counting work now (MPI_Init's end, for the first stretch).
    package init() { lastReturn = Atomic(Self.now()) }

    /// Marks the start of a blocking MPI call.
    func enter() {
        let now = Self.now()
        let work = now &- lastReturn.load(ordering: .relaxed)
        var longest = longestWork.load(ordering: .relaxed)
        while work > longest {
            let (exchanged, seen) = longestWork.compareExchange(expected: longest, desired: work, ordering: .relaxed)
            if exchanged { break }
            longest = seen
        }
        blockedSince.store(now, ordering: .releasing)
    }

    /// Marks the end of a blocking MPI call.
    func leave() {
        let now = Self.now()
        lastReturn.store(now, ordering: .relaxed)
        blockedSince.store(0, ordering: .releasing)
    }

    /// Runs `body` as one blocking MPI call.
    func blocking<T>(_ body: () throws -> T) rethrows -> T {
        enter()
        defer { leave() }
        return try body()
    }

    /// Seconds spent so far in the current blocking call, nil when the rank is not in one.
    package var secondsBlocked: Double? {
        let since = blockedSince.load(ordering: .acquiring)
        return since == 0 ? nil : Double(Self.now() &- since) / 1e9
    }

    /// The longest stretch of work between two blocking calls so far, in seconds.
    package var longestWorkSeconds: Double { Double(longestWork.load(ordering: .relaxed)) / 1e9 }

    /// Nanoseconds on the monotonic clock (async-signal-safe, so a signal handler may call it too).
    package static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
