import CMalloc
import Foundation

/// The result of a program run by a test.
package struct ProcessResult {
    package let status: Int32
    package let output: String
    package let seconds: Double
    package let timedOut: Bool
}

/// Paths and process launching for tests that run the built programs, often under mpirun.
package enum TestEnvironment {
    /// Bytes the allocator has handed out and not had back (glibc's mallinfo2: heap and mapped chunks).
    package static func allocatedBytes() -> Int {
        let info = mallinfo2()
        return Int(info.uordblks + info.hblkhd)
    }

    /// This process's resident set, from /proc/self/statm.
    package static func residentBytes() -> Int {
        let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The package root (the folder holding Package.swift).
    package static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The folder of the built products: the test bundle sits beside the executables.
    package static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// A built executable of this package, for example "vqvae2" or "mpi-checks".
    package static func product(_ name: String) -> String { productsDirectory.appendingPathComponent(name).path }

    /// A fresh empty directory under the system's temporary folder.
    package static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("vqvae2-tests-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs `arguments` (program first), merging stdout and stderr, killing it after `timeout` seconds.
    package static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: Double = 300
    ) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = packageRoot
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let collected = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        let start = Date()
        try process.run()
        var timedOut = false
        while process.isRunning {
            if Date().timeIntervalSince(start) > timeout {
                timedOut = true
                process.terminate()
                Thread.sleep(forTimeInterval: 2)
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        collected.append(pipe.fileHandleForReading.readDataToEndOfFile())
        return ProcessResult(
            status: process.terminationStatus, output: collected.text,
            seconds: Date().timeIntervalSince(start), timedOut: timedOut)
    }

    /// Runs a program on `ranks` MPI ranks through the project's launcher (one mpirun job at a time: XCTest runs
    /// tests serially).
    package static func mpirun(
        ranks: Int, _ arguments: [String], environment: [String: String] = [:], timeout: Double = 300
    ) throws -> ProcessResult {
        try run(
            ["bash", packageRoot.appendingPathComponent("launch/mpirun.sh").path, "-n", String(ranks)] + arguments,
            environment: environment, timeout: timeout)
    }
}

/// Collects a child's output from the pipe's reader thread.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) {
        lock.lock()
        data.append(more)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
