import Numerics
import TestSupport
import XCTest
@testable import Model

/// The whole VQ-VAE backward against central differences of its straight-through surrogate.
///
/// The true loss is piecewise constant in z through the quantiser, so finite differences of it cannot see the
/// straight-through estimate. With the assignments frozen, each quantiser computes q = z + (e0 - z0) and measures
/// commitment against e0: the same value at the frozen point, and a smooth function whose true gradient is exactly
/// the straight-through gradient that backward produces.
final class VQVAEGradientTests: XCTestCase {
    private func frozenModel() throws -> (VQVAE, Tensor) {
        let model = try makeModel(tinyConfig(), seed: 4)
        // PyTorch's initialisation shrinks signals through a network this narrow until the encoders' gradients
        // sink below the finite differences' rounding noise; tripled weights keep every layer well measurable.
        for i in 0..<model.store.count { model.store.values[i] *= 3 }
        let images = randomTensor([2, 8, 8, 3], seed: 12)
        model.initializeCodebooks(from: randomTensor([2, 8, 8, 3], seed: 13))
        _ = model.forward(images, training: false)
        model.top.freezeAssignments()
        model.bottom.freezeAssignments()
        return (model, images)
    }

    private let check = GradientCheck(step: 1e-2, roundingFactor: 64, truncation: 2e-3, samples: 12)

    func testParameterGradientsMatchFiniteDifferences() throws {
        let (model, images) = try frozenModel()
        let store = model.store
        let losses = model.forward(images, training: true)
        XCTAssertGreaterThan(losses.commitmentTop + losses.commitmentBottom, 0)
        store.zeroGradients()
        model.backward()
        for parameter in store.parameters {
            let analytic = Array(UnsafeBufferPointer(start: store.gradient(parameter), count: parameter.count))
            check.check(parameter.name, target: store.value(parameter), count: parameter.count, analytic: analytic) {
                let total = Double(model.forward(images, training: false).total)
                return (total, abs(total))
            }
        }
    }

    func testImageGradientMatchesFiniteDifferences() throws {
        let (model, images) = try frozenModel()
        _ = model.forward(images, training: true)
        model.store.zeroGradients()
        let analytic = model.backward(inputGradient: true)!.array
        var wide = check
        wide.samples = 48
        wide.check("images", target: images.data, count: images.count, analytic: analytic) {
            let total = Double(model.forward(images, training: false).total)
            return (total, abs(total))
        }
    }

    /// At the frozen point the surrogate is the model: same loss, same codes.
    func testTheSurrogateAgreesWithTheModelWhereItIsFrozen() throws {
        let model = try makeModel(tinyConfig(), seed: 4)
        let images = randomTensor([2, 8, 8, 3], seed: 12)
        model.initializeCodebooks(from: randomTensor([2, 8, 8, 3], seed: 13))
        let real = model.forward(images, training: false)
        model.top.freezeAssignments()
        model.bottom.freezeAssignments()
        let surrogate = model.forward(images, training: false)
        XCTAssertEqual(real.reconstruction, surrogate.reconstruction, accuracy: 1e-6 * real.reconstruction)
        XCTAssertEqual(real.commitmentTop, surrogate.commitmentTop, accuracy: 1e-6 * real.commitmentTop)
        XCTAssertEqual(real.commitmentBottom, surrogate.commitmentBottom, accuracy: 1e-6 * real.commitmentBottom)
    }
}
