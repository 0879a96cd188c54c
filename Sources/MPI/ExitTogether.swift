import CMPI
import Glibc

extension Communicator {
    /// How long a rank waits for the others at an error they all meet. Ranks reach it at different moments (one
    /// may still be reading a file, or share a loaded machine), and only a failure that was not shared after all,
    /// a bug, ever waits this long.
    static let agreementSeconds = 30.0

    /// Ends the process after a failure that every rank met: a non-blocking barrier checks that every rank is here
    /// (if it does not complete within `agreementSeconds`, the failure was not shared after all, and the caller must
    /// abort), then every rank finalises and exits with `status`.
    ///
    /// Open MPI's daemons still wait 2 x odls_base_sigkill_timeout once a rank has exited non-zero (they count a
    /// rank whose exit they are handling as alive), so rank 0 leaves the launcher a note that the job is over.
    package func exitTogether(status: Int32, message: String, printed: Bool) {
        var request: MPI_Request? = cmpi_request_null()
        guard MPI_Ibarrier(handle, &request) == cmpi_success() else { return }
        let deadline = WaitClock.now() + UInt64(max(Self.agreementSeconds, TeardownWatch.workFactor * clock.longestWorkSeconds) * 1e9)
        var done: Int32 = 0
        while done == 0 {
            guard MPI_Test(&request, &done, cmpi_status_ignore()) == cmpi_success() else { return }
            if done == 0 {
                if WaitClock.now() > deadline { return }
                usleep(1000)
            }
        }
        MPI_Finalize()
        if rank == 0 { LaunchReport.noteAgreedFailure(status: status, message, printed: printed) }
        exit(status)
    }
}
