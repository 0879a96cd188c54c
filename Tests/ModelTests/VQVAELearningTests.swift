import Foundation
import Numerics
import XCTest
@testable import Model

/// The whole training step learns: Adam on the parameters, the EMA update and dead-code restarts on the codebooks.
/// 10-30 s in a debug build on this shared machine (400 steps of 16 images, 32x32, a 32-channel model).
final class VQVAELearningTests: XCTestCase {
    func testReconstructionLossFallsTenfoldOnSimpleShapes() throws {
        var config = VQVAEConfig()
        config.imageSize = 32
        config.channels = 32
        config.residualChannels = 16
        config.residualBlocks = 1
        config.codebookSize = 32
        config.codeDim = 16
        let model = try makeModel(config, seed: 21)
        let images = shapeImages(count: 16, size: 32)
        model.initializeCodebooks(from: images)
        let adam = Adam(count: model.store.count)
        let start = Date()
        let initial = model.forward(images, training: false).reconstruction
        var losses: [Float] = []
        var usage: PerLevel<CodebookUsage>?
        for _ in 0..<400 {
            model.store.zeroGradients()
            losses.append(model.forward(images, training: true).reconstruction)
            model.backward()
            adam.update(values: model.store.values, gradients: model.store.gradients, lr: 2e-3)
            usage = model.applyEMAUpdate()
            model.restartDeadCodes()
        }
        let final = model.forward(images, training: false).reconstruction
        let seconds = Date().timeIntervalSince(start)
        print("VQ-VAE learning: reconstruction \(initial) -> \(final) in 400 steps, \(seconds) s; usage top "
              + "\(usage!.top.usedCodes)/32 (perplexity \(usage!.top.perplexity)), bottom \(usage!.bottom.usedCodes)/32 "
              + "(perplexity \(usage!.bottom.perplexity))")
        XCTAssertTrue(losses.allSatisfy { $0.isFinite })
        XCTAssertLessThan(final, initial / 10)
        XCTAssertGreaterThan(usage!.bottom.usedCodes, 4, "the bottom codebook did not collapse")
    }
}
