import CMPI
import Foundation

/// Ties a rank's life to the Open MPI daemon that started it (mpirun on the first host, orted on the others), so
/// that a job whose mpirun is killed leaves no rank behind that trains on and commits checkpoints while a
/// restarted job may already be using the same directory.
///
/// The kernel sends the rank SIGKILL when the daemon dies (PR_SET_PDEATHSIG): SIGKILL, because SIGTERM and SIGUSR1
/// would make the rank save. The daemon may already be gone when the rank gets here, so the parent is checked again
/// after the request. When something sits between the daemon and the rank (`mpirun valgrind vqvae2 ...`), the
/// kernel cannot help and a thread watches the daemon instead.
enum LauncherTie {
    /// Installs the tie when this process was started by Open MPI; a no-op otherwise.
    static func install(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard environment["OMPI_COMM_WORLD_SIZE"] != nil else { return }
        let rank = environment["OMPI_COMM_WORLD_RANK"] ?? "?"
        let daemon = daemonProcess(environment) ?? getppid()
        if getppid() == daemon {
            _ = cmpi_set_parent_death_signal(SIGKILL)
            if getppid() != daemon { die(rank: rank, daemon: daemon) }
            return
        }
        guard isAlive(daemon) else { die(rank: rank, daemon: daemon) }
        let watcher = Thread {
            while isAlive(daemon) { usleep(100_000) }
            die(rank: rank, daemon: daemon)
        }
        watcher.name = "launcher-tie"
        watcher.start()
    }

    /// The local daemon's process id, from the session directory Open MPI names in the environment
    /// (`.../ompi.HOST.UID/pid.PID/...`).
    static func daemonProcess(_ environment: [String: String]) -> pid_t? {
        for variable in ["PMIX_SERVER_TMPDIR", "OMPI_FILE_LOCATION", "OMPI_MCA_orte_jobfam_session_dir"] {
            guard let path = environment[variable] else { continue }
            for component in path.split(separator: "/") where component.hasPrefix("pid.") {
                if let pid = pid_t(component.dropFirst(4)), pid > 1 { return pid }
            }
        }
        return nil
    }

    private static func isAlive(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    private static func die(rank: String, daemon: pid_t) -> Never {
        let line = "vqvae2: rank \(rank): the Open MPI daemon (pid \(daemon)) that started this rank is gone; exiting at once, without saving\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        kill(getpid(), SIGKILL)
        _exit(137)
    }
}
