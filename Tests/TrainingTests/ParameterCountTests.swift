import Foundation
import Model
import TestSupport
import Training
import XCTest

/// Parameter counts from the shapes the models register, without materializing a store, against the counts of
/// benchmarks/pytorch_reference.py's PyTorch twins of the same networks (`--case count`, PyTorch 1.13: its specs
/// "small", "demo" and "paper").
final class ParameterCountTests: XCTestCase {
    /// The benchmark networks, whose counts benchmarks/pytorch_reference.py checks its PyTorch twins against.
    func testTheBenchmarkNetworksCountAsThePyTorchReferenceDoes() throws {
        var config = ExperimentConfig()
        config.model.imageSize = 64
        config.model.residualChannels = 32
        config.topPrior = PriorConfig.small
        config.bottomPrior = PriorConfig.small
        let counts = try Replica.parameterCounts(config: config, classes: PriorConfig.small.classes)
        XCTAssertEqual(counts.vqvae, 1_388_867)
        XCTAssertEqual(counts.topPrior, 4_168_064)
        XCTAssertEqual(counts.bottomPrior, 5_184_384)
    }

    func testTheDemoConfigCountsAsThePyTorchReferenceDoes() throws {
        let config = try ExperimentConfig.load(
            path: TestEnvironment.packageRoot.appendingPathComponent("configs/demo.yaml").path)
        let counts = try Replica.parameterCounts(config: config, classes: 10)
        XCTAssertEqual(counts.vqvae, 1_388_867)
        XCTAssertEqual(counts.topPrior, 1_122_240)
        XCTAssertEqual(counts.bottomPrior, 1_359_552)
    }

    func testCountingIsBuildingWithoutTheBuffers() throws {
        let config = try ExperimentConfig.load(
            path: TestEnvironment.packageRoot.appendingPathComponent("configs/fashion-mnist.yaml").path)
        let counts = try Replica.parameterCounts(config: config, classes: 10)
        let replica = try Replica(config: config, classes: 10)
        XCTAssertEqual(counts.vqvae, replica.stores.vqvae.count)
        XCTAssertEqual(counts.topPrior, replica.stores.topPrior.count)
        XCTAssertEqual(counts.bottomPrior, replica.stores.bottomPrior.count)
    }

    /// The defaults are the paper's ImageNet 256 networks, with hundreds of millions of parameters: counted, not
    /// allocated (their floats alone would be gigabytes).
    func testThePapersNetworksAreCountedWithoutAllocatingThem() throws {
        let before = Self.residentBytes()
        let counts = try Replica.parameterCounts(config: ExperimentConfig(), classes: 1000)
        let grown = Self.residentBytes() - before
        XCTAssertEqual(counts.vqvae, 1_716_803)
        XCTAssertEqual(counts.topPrior, 261_517_312)
        XCTAssertEqual(counts.bottomPrior, 330_473_472)
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
