import Numerics
import XCTest

/// The smallest end-to-end use of the numerics: a convolution, a loss, backward and one Adam step lower the loss.
final class NumericsSmokeTests: XCTestCase {
    func testOneAdamStepOnAConvolutionLowersItsLoss() {
        let store = ParameterStore()
        let conv = Conv2D(store, name: "conv", inChannels: 2, outChannels: 3, kernel: 3, padding: 1)
        store.materialize(seed: 1)
        let x = Tensor(shape: [2, 4, 4, 2]), target = Tensor(shape: [2, 4, 4, 3])
        for i in 0..<x.count { x.data[i] = Float(i % 7) / 7 - 0.5 }
        for i in 0..<target.count { target.data[i] = Float(i % 5) / 5 }
        let loss = MeanSquaredError(), adam = Adam(count: store.count)
        func step() -> Float {
            store.zeroGradients()
            let value = loss.forward(conv.forward(x), target)
            _ = conv.backward(loss.backward(1))
            adam.update(values: store.values, gradients: store.gradients, lr: 1e-2)
            return value
        }
        let first = step()
        for _ in 0..<20 { _ = step() }
        let last = step()
        XCTAssertTrue(first.isFinite && last.isFinite)
        XCTAssertLessThan(last, 0.9 * first, "20 Adam steps should lower the loss by at least 10%")
    }
}
