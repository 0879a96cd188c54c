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
    static let ranksVariable = "VQVAE2_RANKS_REPORT"

    /// Writes the note of a failure every rank met (`Communicator.exitTogether`): `status N: message`, which the
    /// launcher exits with, and which tells it that no rank died.
    package static func noteAgreedFailure(status: Int32, _ message: String, printed: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) {
        write("agreed" + (printed ? ".printed" : ""), "status \(status): \(message)", environment)
    }

    /// Records which host rank `rank` runs on, in the directory the launcher names in VQVAE2_RANKS_REPORT, so that
    /// after a failure it can tell which hosts lost their ranks. Does nothing without the variable.
    package static func noteStart(rank: Int, host: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let directory = environment[ranksVariable], !directory.isEmpty else { return }
        let path = (directory as NSString).appendingPathComponent("rank-\(rank)")
        _ = FileManager.default.createFile(atPath: path + ".tmp", contents: Data((host + "\n").utf8))
        rename(path + ".tmp", path)
    }

    /// Writes `line` as rank `rank`'s note when running under the launcher; does nothing otherwise. Errors are
    /// ignored: the note only speeds the end up, and the rank exits either way.
    package static func noteFailure(
        rank: Int, _ line: String, printed: Bool, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        write("rank-\(rank)" + (printed ? ".printed" : ""), line, environment)
    }

    private static func write(_ name: String, _ line: String, _ environment: [String: String]) {
        guard let directory = environment[variable], !directory.isEmpty else { return }
        let path = (directory as NSString).appendingPathComponent(name)
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data((line + "\n").utf8)) else { return }
        rename(temporary, path)
    }
}
