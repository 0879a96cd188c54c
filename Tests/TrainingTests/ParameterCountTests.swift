import Foundation
import Model
import TestSupport
import Training
import XCTest

/// Parameter counts from the shapes the models register, without materializing a store, against the counts of
/// benchmarks/pytorch_reference.py's PyTorch twins of the same networks (`--case count`, PyTorch 1.13: its specs
/// "small", "demo" and "paper").
final class ParameterCountTests: XCTestCase {
    private func committed(_ name: String) throws -> ExperimentConfig {
        try ExperimentConfig.load(path: TestEnvironment.packageRoot.appendingPathComponent("configs/" + name).path)
    }

    private func assertCounts(
        _ counts: PerPart<Int>, vqvae: Int, top: Int, bottom: Int, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(counts.vqvae, vqvae, "VQ-VAE", file: file, line: line)
        XCTAssertEqual(counts.topPrior, top, "top prior", file: file, line: line)
        XCTAssertEqual(counts.bottomPrior, bottom, "bottom prior", file: file, line: line)
    }

    /// The benchmark networks, whose counts benchmarks/pytorch_reference.py checks its PyTorch twins against.
    func testTheBenchmarkNetworksCountAsThePyTorchReferenceDoes() throws {
        var config = ExperimentConfig()
        config.model.imageSize = 64
        config.model.residualChannels = 32
        config.topPrior = PriorConfig.small
        config.bottomPrior = PriorConfig.small
        let counts = try Replica.parameterCounts(config: config, classes: PriorConfig.small.classes)
        assertCounts(counts, vqvae: 1_388_867, top: 4_168_064, bottom: 5_184_384)
    }

    func testTheDemoConfigCountsAsThePyTorchReferenceDoes() throws {
        let counts = try Replica.parameterCounts(config: try committed("demo.yaml"), classes: 10)
        assertCounts(counts, vqvae: 1_388_867, top: 1_122_240, bottom: 1_359_552)
    }

    func testCountingIsBuildingWithoutTheBuffers() throws {
        let config = try committed("fashion-mnist.yaml")
        let replica = try Replica(config: config, classes: 10)
        assertCounts(
            try Replica.parameterCounts(config: config, classes: 10), vqvae: replica.stores.vqvae.count,
            top: replica.stores.topPrior.count, bottom: replica.stores.bottomPrior.count)
    }

    /// The defaults are the paper's ImageNet 256 networks, with hundreds of millions of parameters: counted, not
    /// allocated (their floats alone would be gigabytes).
    func testThePapersNetworksAreCountedWithoutAllocatingThem() throws {
        let before = Self.residentBytes()
        let counts = try Replica.parameterCounts(config: ExperimentConfig(), classes: 1000)
        let grown = Self.residentBytes() - before
        assertCounts(counts, vqvae: 1_716_803, top: 494_460_928, bottom: 418_607_104)
        let total = counts.vqvae + counts.topPrior + counts.bottomPrior
        XCTAssertLessThan(grown, total, "counting \(total) parameters grew the process by \(grown) bytes")
    }

    /// This process's resident set, from /proc/self/statm.
    private static func residentBytes() -> Int {
        let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
