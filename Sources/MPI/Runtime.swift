import CMPI
import Foundation

/// The MPI library for the life of the process: initialised once, finalised when the program ends.
///
/// MPI itself is process-global; this type is the one place that starts and stops it, so that nothing else
/// needs to know whether it is running.
package final class MPIRuntime {
    /// The thread support level the library granted.
    package let threadLevel: ThreadLevel
    /// All ranks of the job (one when the program was not started by mpirun).
    package let world: any Collective

    /// Thread support levels of MPI_Init_thread.
    package enum ThreadLevel: Int32, Comparable, Sendable {
        case single = 0, funneled, serialized, multiple

        init(raw: Int32) {
            switch raw {
            case cmpi_thread_multiple(): self = .multiple
            case cmpi_thread_serialized(): self = .serialized
            case cmpi_thread_funneled(): self = .funneled
            default: self = .single
            }
        }

        var raw: Int32 {
            switch self {
            case .single: return cmpi_thread_single()
            case .funneled: return cmpi_thread_funneled()
            case .serialized: return cmpi_thread_serialized()
            case .multiple: return cmpi_thread_multiple()
            }
        }

        package static func < (a: ThreadLevel, b: ThreadLevel) -> Bool { a.rawValue < b.rawValue }
    }

    /// Initialises MPI asking for `threadLevel`; a program that was not started by mpirun runs as a world of one.
    ///
    /// Under mpirun the rank is first tied to its daemon (`LauncherTie`) and, once MPI runs, watches for the
    /// daemon's teardown (`TeardownWatch`).
    package init(threadLevel requested: ThreadLevel = .multiple) throws {
        let launched = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil
        if launched { LauncherTie.install() }
        var provided: Int32 = 0
        try check(MPI_Init_thread(nil, nil, requested.raw, &provided), "MPI_Init_thread")
        threadLevel = ThreadLevel(raw: provided)
        let clock = WaitClock()
        let communicator = Communicator(handle: cmpi_comm_world(), clock: clock)
        world = communicator
        if launched {
            TeardownWatch.start(clock: clock, rank: communicator.rank)
            LaunchReport.noteStart(rank: communicator.rank, host: Self.processorName)
        }
    }

    deinit {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// The library's own version string (for example "Open MPI v4.1.4, ...").
    package static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        MPI_Get_library_version(&buffer, &length)
        return String(nulTerminated: buffer).trimmingCharacters(in: " \n\0")
    }

    /// The name of the host this rank runs on.
    package static var processorName: String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_processor_name()) + 1)
        var length: Int32 = 0
        MPI_Get_processor_name(&buffer, &length)
        return String(nulTerminated: buffer)
    }

    /// Seconds since an arbitrary point, from MPI_Wtime.
    package static func wallTime() -> Double { MPI_Wtime() }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let last = scalars.last, set.contains(last) { scalars.removeLast() }
        while let first = scalars.first, set.contains(first) { scalars.removeFirst() }
        return String(scalars)
    }
}
