import Foundation
import TestSupport
import XCTest

/// launch/mpirun.sh (or another launch script) started in the background with its output going to a file that the
/// test watches.
final class LaunchedJob {
    let process = Process()
    private let log: URL
    private let handle: FileHandle
    private let deadline = Date().addingTimeInterval(180)

    init(_ arguments: [String], log: URL, environment: [String: String] = [:], script: String = "launch/mpirun.sh") throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [TestEnvironment.packageRoot.path + "/" + script] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Waits until the output holds `text` (the job is then running its steps).
    func waitFor(_ text: String) throws {
        while Date() < deadline, process.isRunning, !(try String(contentsOf: log, encoding: .utf8)).contains(text) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(try String(contentsOf: log, encoding: .utf8).contains(text), "never printed \(text)")
    }

    /// Sends `signal` to the mpirun the launcher started (as a scheduler signalling the job would); fails the test
    /// unless there is exactly one.
    func signalMpirun(_ signal: Int32) throws {
        let mpirun = try Self.descendants(of: process.processIdentifier).filter { $0.command == "mpirun" }.map(\.pid)
        XCTAssertEqual(mpirun.count, 1, "mpirun under the launcher: \(mpirun)")
        if let pid = mpirun.first { kill(pid, signal) }
    }

    /// Every process below `root`, with its command name.
    static func descendants(of root: Int32) throws -> [(pid: Int32, command: String)] {
        let table = try TestEnvironment.run(["ps", "-e", "-o", "pid=,ppid=,comm="]).output.split(separator: "\n").compactMap {
            line -> (pid: Int32, parent: Int32, command: String)? in
            let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard fields.count == 3, let pid = Int32(fields[0]), let parent = Int32(fields[1]) else { return nil }
            return (pid, parent, String(fields[2]))
        }
        var found: [(pid: Int32, command: String)] = []
        var frontier: Set<Int32> = [root]
        while !frontier.isEmpty {
            let next = table.filter { frontier.contains($0.parent) }
            found += next.map { ($0.pid, $0.command) }
            frontier = Set(next.map(\.pid))
        }
        return found
    }

    /// The pids of this job's `vqvae2` ranks whose MPI rank is `rank` (one per job; more across restarts).
    func ranks(numbered rank: Int) throws -> [Int32] {
        try Self.descendants(of: process.processIdentifier).filter { $0.command == "vqvae2" }.map(\.pid).filter { pid in
            let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            return environment.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }
        }
    }

    /// The processes whose command line contains `text` (a job's unique config path names its ranks).
    static func processes(mentioning text: String) throws -> [Int32] {
        try TestEnvironment.run(["pgrep", "-f", "--", text]).output.split(separator: "\n").compactMap { Int32($0) }
            .filter { $0 != getpid() }
    }

    /// Waits up to `seconds` for every process mentioning `text` to be gone; returns those left.
    static func waitUntilGone(mentioning text: String, within seconds: Double) throws -> [Int32] {
        let deadline = Date().addingTimeInterval(seconds)
        var left = try processes(mentioning: text)
        while !left.isEmpty && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            left = try processes(mentioning: text)
        }
        return left
    }

    /// Waits for the launcher to exit (killing it at the deadline) and returns everything it printed.
    func finish() throws -> String {
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            XCTFail("the job did not end within its deadline")
        }
        process.waitUntilExit()
        try handle.close()
        return try String(contentsOf: log, encoding: .utf8)
    }
}
