import Foundation

/// A note for launch/mpirun.sh that this rank is leaving the job because of a failure, in the directory the
/// launcher names in VQVAE2_FAILURE_REPORT (one file per rank).
///
/// Once a rank has exited non-zero or died, Open MPI's daemons take 2 x odls_base_sigkill_timeout to end the job,
/// and relay no output meanwhile. A note tells the launcher at once that the job is over and why, so it can end
/// mpirun itself, and print the reason when the rank could not get it through mpirun (`printed` false: the rank
/// wrote it after Open MPI had begun tearing the job down, see `TeardownWatch`).
package enum LaunchReport {
    static let variable = "VQVAE2_FAILURE_REPORT"

    /// Writes `line` as rank `rank`'s note when running under the launcher; does nothing otherwise. Errors are
    /// ignored: the note only speeds the end up, and the rank exits either way.
    package static func noteFailure(
        rank: Int, _ line: String, printed: Bool, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        guard let directory = environment[variable], !directory.isEmpty else { return }
        let path = (directory as NSString).appendingPathComponent("rank-\(rank)" + (printed ? ".printed" : ""))
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data((line + "\n").utf8)) else { return }
        rename(temporary, path)
    }
}
