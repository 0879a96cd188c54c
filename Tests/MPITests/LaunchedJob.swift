import Foundation
import TestSupport
import XCTest

/// launch/mpirun.sh started in the background with its output going to a file that the test watches.
final class LaunchedJob {
    let process = Process()
    private let log: URL
    private let handle: FileHandle
    private let deadline = Date().addingTimeInterval(180)

    init(_ arguments: [String], log: URL, environment: [String: String] = [:]) throws {
        self.log = log
        FileManager.default.createFile(atPath: log.path, contents: nil)
        handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [TestEnvironment.packageRoot.path + "/launch/mpirun.sh"] + arguments
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
        let mpirun = try TestEnvironment.run(["pgrep", "-P", String(process.processIdentifier), "-x", "mpirun"]).output
            .split(separator: "\n").compactMap { Int32($0) }
        XCTAssertEqual(mpirun.count, 1, "mpirun under the launcher: \(mpirun)")
        if let pid = mpirun.first { kill(pid, signal) }
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
