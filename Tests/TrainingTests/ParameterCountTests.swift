import Foundation
import Model
import TestSupport
import Training
import XCTest

/// Parameter counts from the shapes the models register, without materializing a store, against the counts of
/// benchmarks/pytorch_reference.py's PyTorch twins of the same networks (`--case count`, PyTorch 1.13: its specs
/// "small", "demo", "paper", "imagenet128" and "imagenet64").
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

    /// The ImageNet configs with ImageNet's 1,000 classes, counted without allocating (the 256 px one would need
    /// 3.7 GB for its parameters alone).
    func testTheImageNetConfigsCountAsThePyTorchReferenceDoes() throws {
        let paper = try Replica.parameterCounts(config: try committed("imagenet256.yaml"), classes: 1000)
        assertCounts(paper, vqvae: 1_716_803, top: 494_460_928, bottom: 418_607_104)
        let mid = try Replica.parameterCounts(config: try committed("imagenet128.yaml"), classes: 1000)
        assertCounts(mid, vqvae: 1_716_803, top: 43_176_704, bottom: 17_016_960)
        let small = try Replica.parameterCounts(config: try committed("imagenet64.yaml"), classes: 1000)
        assertCounts(small, vqvae: 1_716_803, top: 25_526_912, bottom: 17_442_944)
    }

    /// configs/imagenet256.yaml is the paper's experiment: its model sections are the built-in defaults.
    func testTheImageNet256ConfigsModelIsTheDefaults() throws {
        let config = try committed("imagenet256.yaml"), defaults = ExperimentConfig()
        XCTAssertEqual(config.model, defaults.model)
        XCTAssertEqual(config.topPrior, defaults.topPrior)
        XCTAssertEqual(config.bottomPrior, defaults.bottomPrior)
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
        let before = TestEnvironment.residentBytes()
        let counts = try Replica.parameterCounts(config: ExperimentConfig(), classes: 1000)
        let grown = TestEnvironment.residentBytes() - before
        assertCounts(counts, vqvae: 1_716_803, top: 494_460_928, bottom: 418_607_104)
        let total = counts.vqvae + counts.topPrior + counts.bottomPrior
        XCTAssertLessThan(grown, total, "counting \(total) parameters grew the process by \(grown) bytes")
    }
}
