import Foundation
import TestSupport
import XCTest

/// Multi-node launches on one machine: two "hosts" made of network namespaces by launch/netns-cluster.sh (a bridge,
/// an address each on a private /24, a hostfile naming both, an ssh stand-in agent for Open MPI's rsh launcher), and
/// `vqvae2` run across them with MPI traffic over TCP between the hosts. Skipped where namespaces cannot be made
/// (not root, no iproute2, a container without the privilege).
final class MultiNodeTests: XCTestCase {
    /// A cluster name and subnet of the tests' own, so that a cluster a user brought up by hand (default name vqvae2,
    /// 10.77.0.0/24) is left alone.
    private static let clusterName = "vqvae2t"
    private static let subnet = "10.77.9"

    private var directory: URL!
    private var clusterEnvironment: [String: String] = [:]
    private var script: String { TestEnvironment.packageRoot.appendingPathComponent("launch/netns-cluster.sh").path }

    override func setUpWithError() throws {
        try Self.skipUnlessNamespacesCanBeMade()
        directory = try TestEnvironment.temporaryDirectory("multi-node")
        clusterEnvironment = [
            "VQVAE2_NETNS_NAME": Self.clusterName, "VQVAE2_NETNS_SUBNET": Self.subnet,
            "VQVAE2_NETNS_DIR": directory.appendingPathComponent("cluster").path,
        ]
        // Registered before "up" so that a half-made cluster is removed too.
        addTeardownBlock { [script, clusterEnvironment] in
            let down = try? TestEnvironment.run(["bash", script, "down"], environment: clusterEnvironment, timeout: 60)
            if down?.status != 0 { print("MultiNodeTests: cluster teardown failed: \(down?.output ?? "not run")") }
        }
        let up = try TestEnvironment.run(["bash", script, "up", "-n", "2"], environment: clusterEnvironment, timeout: 60)
        if up.status != 0 {
            // Removed here too, in case teardown blocks do not run after a throwing setUp.
            _ = try? TestEnvironment.run(["bash", script, "down"], environment: clusterEnvironment, timeout: 60)
            XCTFail("launch/netns-cluster.sh up failed although namespaces can be made:\n\(up.output)")
            throw XCTSkip("the namespace cluster did not come up (see the failure above)")
        }
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// The brief's precondition check: root, `ip` on PATH, and a namespace that can really be added and removed.
    private static func skipUnlessNamespacesCanBeMade() throws {
        guard getuid() == 0 else { throw XCTSkip("multi-node test skipped: network namespaces need root") }
        let which = try TestEnvironment.run(["sh", "-c", "command -v ip && command -v unshare"], timeout: 30)
        guard which.status == 0 else {
            throw XCTSkip("multi-node test skipped: 'ip' (iproute2) or 'unshare' (util-linux) not found; launch/setup.sh installs iproute2")
        }
        let probe = "\(clusterName)-probe"
        let made = try TestEnvironment.run(
            ["sh", "-c", "ip netns add \(probe) && ip netns del \(probe)"], timeout: 30)
        guard made.status == 0 else {
            throw XCTSkip("multi-node test skipped: cannot create a network namespace here (\(made.output.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
    }

    /// Runs `arguments` under mpirun across the cluster's hosts (one rank per host).
    private func onCluster(_ arguments: [String], mpi: [String] = [], timeout: Double) throws -> ProcessResult {
        let pass = mpi.isEmpty ? [] : ["--mpi"] + mpi + ["--"]
        return try TestEnvironment.run(
            ["bash", script, "run"] + pass + ["--"] + arguments, environment: clusterEnvironment, timeout: timeout)
    }

    func testEnvReportsOneRankOnEachHostAndTheAllReduceWorks() throws {
        let vqvae2 = TestEnvironment.product("vqvae2")
        let result = try onCluster([vqvae2, "env", "--gemm-size", "64"], timeout: 120)
        XCTAssertFalse(result.timedOut, result.output)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("world size 2"), result.output)
        XCTAssertTrue(result.output.contains("rank 0/2  host \(Self.clusterName)-h1 "), result.output)
        XCTAssertTrue(result.output.contains("rank 1/2  host \(Self.clusterName)-h2 "), result.output)
        XCTAssertTrue(result.output.contains("all-reduce check: sum of ranks = 1, expected 1: ok"), result.output)

        // Shared memory cannot join ranks on different hosts: with only self and vader allowed, Open MPI finds no
        // path between them. So the training test below really runs over TCP.
        let noTCP = try onCluster([vqvae2, "env", "--gemm-size", "0"], mpi: ["--mca", "btl", "self,vader"], timeout: 120)
        XCTAssertFalse(noTCP.timedOut, noTCP.output)
        XCTAssertNotEqual(noTCP.status, 0, noTCP.output)
        XCTAssertTrue(noTCP.output.contains("unable to reach each other"), noTCP.output)
    }

    /// A short joint-schedule run with one rank per host (gradients, EMA statistics and checks all over TCP) ends
    /// bit-identical to the same 2-rank run on one node (shared memory): for 2 ranks every all-reduce is the single
    /// sum a + b whichever transport carries it.
    func testTrainingAcrossHostsMatchesOneNodeBitForBit() throws {
        let vqvae2 = TestEnvironment.product("vqvae2")
        let prepare = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(prepare.status, 0, prepare.output)
        let config = try tinyConfig()
        let train = [vqvae2, "train", "--config", config, "--print-state-checksums"]

        let across = try onCluster(
            train + ["--set", "checkpoints.directory=\(directory.path)/across", "--set", "run.directory=\(directory.path)/run-across"],
            timeout: 600)
        XCTAssertFalse(across.timedOut, across.output)
        XCTAssertEqual(across.status, 0, across.output)
        XCTAssertTrue(across.output.contains("step 6/6"), across.output)

        let local = try TestEnvironment.mpirun(
            ranks: 2,
            train + ["--set", "checkpoints.directory=\(directory.path)/local", "--set", "run.directory=\(directory.path)/run-local"],
            timeout: 600)
        XCTAssertEqual(local.status, 0, local.output)

        let a = try XCTUnwrap(checksums(across.output), across.output)
        let b = try XCTUnwrap(checksums(local.output), local.output)
        XCTAssertTrue(a.contains("vqvae/top/codebook="), a)
        XCTAssertEqual(a, b, "TCP across hosts and shared memory on one node must give the same state")
        // The checkpoint written at the end (rank 0 on host 1, shared filesystem) is complete.
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path + "/across/step-00000006/manifest.json"))
    }

    /// kill -9 of mpirun on the first host: the rank on the second host, a child of Open MPI's daemon there, dies
    /// with that daemon as the one on the first host dies with mpirun, and nothing commits a checkpoint afterwards.
    func testKillingMpirunLeavesNoRankOnEitherHost() throws {
        let prepare = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(prepare.status, 0, prepare.output)
        let config = try TinyExperiment.writeConfig(in: directory, steps: 1_000_000)
        let job = try LaunchedJob(
            ["run", "--", TestEnvironment.product("vqvae2"), "train", "--config", config, "--set", "intervals.checkpoint_every=2"],
            log: directory.appendingPathComponent("kill-mpirun.log"), environment: clusterEnvironment,
            script: "launch/netns-cluster.sh")
        try job.waitFor("step 9/1000000")
        try job.signalMpirun(SIGKILL)
        let output = try job.finish()
        XCTAssertNotEqual(job.process.terminationStatus, 0, output)
        let committed = { () throws -> [String] in
            try FileManager.default.contentsOfDirectory(atPath: self.directory.path + "/checkpoints").filter {
                FileManager.default.fileExists(atPath: self.directory.path + "/checkpoints/\($0)/manifest.json")
            }.sorted()
        }
        let atKill = try committed()
        XCTAssertFalse(atKill.isEmpty, output)
        XCTAssertEqual(try LaunchedJob.waitUntilGone(mentioning: config, within: 15), [], "ranks left after mpirun was killed")
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(try committed(), atKill, "a checkpoint was committed after mpirun was killed")
    }

    /// Every rank on the second host is killed mid-run: the launcher leaves that host out, restarts on the survivor
    /// at half the world size with twice the micro-batches, and the run ends with the state of a run resumed on one
    /// rank with train.micro_batches=2 from the same commit, data position included.
    func testLosingAHostContinuesOnTheSurvivorAtHalfTheWorldSize() throws {
        let vqvae2 = TestEnvironment.product("vqvae2")
        let prepare = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(prepare.status, 0, prepare.output)
        let config = try TinyExperiment.writeConfig(in: directory, steps: 40)
        let train = [vqvae2, "train", "--config", config, "--set", "intervals.checkpoint_every=4", "--set", "checkpoints.keep=100",
                     "--print-state-checksums"]
        let job = try LaunchedJob(
            ["run", "--max-restarts", "1", "--"] + train + ["--resume", "auto"],
            log: directory.appendingPathComponent("lose-host.log"), environment: clusterEnvironment,
            script: "launch/netns-cluster.sh")
        try job.waitFor("step 10/40")
        let secondHost = try job.ranks(numbered: 1)
        XCTAssertEqual(secondHost.count, 1, "ranks on the second host: \(secondHost)")
        for pid in secondHost { kill(pid, SIGKILL) }
        let output = try job.finish()
        XCTAssertEqual(job.process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("leaving out host \(Self.subnet).2 (\(Self.clusterName)-h2): every rank it ran died"), output)
        XCTAssertTrue(output.contains("mpirun.sh: restart 1 of 1 at 1 rank(s) (was 2)"), output)
        XCTAssertTrue(output.contains("train: 1 of the job's first 2 ranks remain: train.micro_batches 1 -> 2"), output)
        XCTAssertTrue(output.contains("step 40/40"), output)

        let record = try String(contentsOfFile: directory.path + "/run/restarts.jsonl", encoding: .utf8)
        let resumedStep = try XCTUnwrap(
            record.range(of: #""resumed_step":\d+"#, options: .regularExpression).map { Int(record[$0].dropFirst(15))! }, record)
        XCTAssertTrue(record.contains("\"world_size\":1") && record.contains("\"micro_batches\":2"), record)
        let commit = directory.path + String(format: "/checkpoints/step-%08d", resumedStep)
        let reference = try TestEnvironment.run(
            train + ["--set", "train.micro_batches=2", "--set", "checkpoints.directory=\(directory.path)/reference",
                     "--set", "run.directory=\(directory.path)/run-reference", "--resume", commit], timeout: 600)
        XCTAssertEqual(reference.status, 0, reference.output)
        XCTAssertEqual(try XCTUnwrap(checksums(output), output), try XCTUnwrap(checksums(reference.output), reference.output))
        let position = { (path: String) throws -> String? in
            try TestEnvironment.run([vqvae2, "checkpoint", "inspect", path]).output.split(separator: "\n")
                .first { $0.contains("data position:") }.map(String.init)
        }
        let finished = try position(directory.path + "/checkpoints/step-00000040")
        XCTAssertNotNil(finished)
        XCTAssertEqual(finished, try position(directory.path + "/reference/step-00000040"), "the data position continues exactly")
    }

    private func checksums(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("state checksums:") }.map(String.init)
    }

    /// The tiny model of TrainingUnderMPITests: 6 joint steps of global batch 8, a cross-rank check every 2.
    private func tinyConfig() throws -> String { try TinyExperiment.writeConfig(in: directory, steps: 6) }
}
