import Foundation
import TestSupport
import XCTest

final class CommandLineTests: XCTestCase {
    private var vqvae2: String { TestEnvironment.product("vqvae2") }

    func testHelpListsEverySubcommand() throws {
        let result = try TestEnvironment.run([vqvae2, "--help"], timeout: 60)
        XCTAssertEqual(result.status, 0, result.output)
        for command in ["env", "prepare", "index", "train", "evaluate", "sample", "checkpoint", "extract-codes"] {
            XCTAssertTrue(result.output.contains("  \(command)"), "help lacks \(command):\n\(result.output)")
        }
    }

    /// The help of every subcommand names only config files that exist (a stale name once pointed at none).
    func testEveryConfigTheHelpNamesExists() throws {
        var named = Set<String>()
        for command in ["train", "evaluate", "sample", "extract-codes"] {
            let result = try TestEnvironment.run([vqvae2, command, "--help"], timeout: 60)
            XCTAssertEqual(result.status, 0, result.output)
            let pattern = try NSRegularExpression(pattern: "configs/[A-Za-z0-9_-]+\\.yaml")
            let text = result.output as NSString
            for match in pattern.matches(in: result.output, range: NSRange(location: 0, length: text.length)) {
                named.insert(text.substring(with: match.range))
            }
        }
        XCTAssertTrue(named.contains("configs/imagenet256.yaml"), "\(named)")
        for path in named {
            let url = TestEnvironment.packageRoot.appendingPathComponent(path)
            XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), "the help names \(path), which does not exist")
        }
    }

    func testEnvUnderMPIReportsEveryRank() throws {
        let result = try TestEnvironment.mpirun(ranks: 2, [vqvae2, "env", "--gemm-size", "128"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("rank 0/2"), result.output)
        XCTAssertTrue(result.output.contains("rank 1/2"), result.output)
        XCTAssertTrue(result.output.contains("openblas threads 1"), "the launcher pins OpenBLAS to one thread")
        XCTAssertTrue(result.output.contains("Open MPI"), result.output)
        XCTAssertTrue(result.output.contains("HDF5:     1.10"), result.output)
        XCTAssertTrue(result.output.contains("all-reduce check: sum of ranks = 1, expected 1: ok"), result.output)
    }

    func testEnvRunsWithoutMPIRunAsAWorldOfOne() throws {
        let result = try TestEnvironment.run([vqvae2, "env", "--gemm-size", "0"], timeout: 60)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("rank 0/1"), result.output)
    }

    /// A machine without libhdf5-dev: the setup check names the package to install.
    func testSetupCheckNamesWhatIsMissing() throws {
        let stubs = try TestEnvironment.temporaryDirectory("stubs")
        defer { try? FileManager.default.removeItem(at: stubs) }
        let stub = stubs.appendingPathComponent("dpkg-query")
        try """
            #!/bin/sh
            for last; do :; done
            [ "$last" = libhdf5-dev ] && exit 1
            printf 'install ok installed'
            """.write(to: stub, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: stub.path)
        let path = stubs.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try TestEnvironment.run(
            ["bash", "launch/setup.sh", "--check"], environment: ["PATH": path], timeout: 60)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("missing Debian packages: libhdf5-dev"), result.output)
        XCTAssertTrue(result.output.contains("apt-get install libhdf5-dev"), result.output)
    }

    func testLauncherOversubscribesBeyondTheCores() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let result = try TestEnvironment.run(
            ["bash", "launch/mpirun.sh", "-n", String(cores + 1), "--dry-run", "prog"], timeout: 30)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("--oversubscribe"), result.output)
        XCTAssertTrue(result.output.contains("--bind-to none"), result.output)
        let hosts = try TestEnvironment.run(
            ["bash", "launch/mpirun.sh", "--hostfile", "launch/hostfile.example", "--net", "10.9.0.0/24", "--dry-run", "prog"],
            timeout: 30)
        XCTAssertTrue(hosts.output.contains("--hostfile launch/hostfile.example"), hosts.output)
        XCTAssertTrue(hosts.output.contains("btl_tcp_if_include 10.9.0.0/24"), hosts.output)
    }
}
