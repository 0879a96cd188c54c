import Foundation
import TestSupport
import XCTest

/// Ranks that would run different vector variants (rank 1 forced to the baseline, as on an older CPU) agree on the
/// lowest, record it in the checkpoint, and a resume under another variant warns; a rank forced to a variant its
/// machine lacks stops the job on every rank.
final class VectorVariantUnderMPITests: XCTestCase {
    private var directory: URL!
    private var vqvae2: String { TestEnvironment.product("vqvae2") }

    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("mpi-vector")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// `arguments` on two ranks, rank 1 with VQVAE2_VECTOR_VARIANT=`rankOne` and rank 0 with whatever the test
    /// process has (unset: the best the machine runs).
    private func mixed(rankOne: String, _ arguments: [String]) throws -> ProcessResult {
        let command = arguments.map { "'\($0)'" }.joined(separator: " ")
        return try TestEnvironment.mpirun(ranks: 2, [
            "/bin/bash", "-c",
            "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then export VQVAE2_VECTOR_VARIANT=\(rankOne); fi; exec \(command)",
        ])
    }

    func testRanksAgreeOnTheLowestVariantAndACheckpointRemembersIt() throws {
        let env = try mixed(rankOne: "baseline", [vqvae2, "env", "--gemm-size", "0"])
        XCTAssertEqual(env.status, 0, env.output)
        XCTAssertTrue(env.output.contains("vector variant of a training job: baseline (the lowest over the ranks)"), env.output)
        XCTAssertTrue(env.output.contains("vector baseline (best "), env.output)

        let data = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(data.status, 0, data.output)
        let config = try TinyExperiment.writeConfig(in: directory, steps: 2)
        let first = try mixed(rankOne: "baseline", [vqvae2, "train", "--config", config])
        XCTAssertEqual(first.status, 0, first.output)
        let checkpoint = directory.path + "/checkpoints/step-00000002"
        let manifest = try String(contentsOfFile: checkpoint + "/manifest.json", encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"vector_variant\" : \"baseline\""), manifest)
        let listing = try TestEnvironment.run([vqvae2, "checkpoint", "show", checkpoint])
        XCTAssertTrue(listing.output.contains("vector variant baseline"), listing.output)

        let best = try TestEnvironment.run([vqvae2, "env", "--gemm-size", "0"])
        guard !best.output.contains("vector baseline (best baseline)") else {
            throw XCTSkip("this machine runs only the baseline, so no rank can be lower: \(best.output)")
        }
        XCTAssertTrue(first.output.contains("train: vector variant baseline on every rank, the lowest the ranks support (rank(s) 1)"), first.output)
        let resumed = try TestEnvironment.mpirun(
            ranks: 2, [vqvae2, "train", "--config", config, "--set", "train.steps=3", "--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("train: warning: \(checkpoint) was written under vector variant baseline, this run uses "), resumed.output)
    }

    func testARankForcedToAVariantItLacksStopsEveryRank() throws {
        let probe = try TestEnvironment.run([vqvae2, "env", "--gemm-size", "0"], environment: ["VQVAE2_VECTOR_VARIANT": "avx512"])
        guard probe.status != 0 else { throw XCTSkip("this machine runs every variant, so none can be refused") }
        let data = try TinyExperiment.prepareData(in: directory)
        XCTAssertEqual(data.status, 0, data.output)
        let config = try TinyExperiment.writeConfig(in: directory, steps: 2)
        let result = try mixed(rankOne: "avx512", [vqvae2, "train", "--config", config])
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("VQVAE2_VECTOR_VARIANT=avx512, but this machine cannot run it"), result.output)
        XCTAssertTrue(result.output.contains("choosing the vector variant"), result.output)
    }
}
