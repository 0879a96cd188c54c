@testable import Numerics
import TestSupport
import XCTest

final class Conv2DTests: XCTestCase {
    private func makeConv(
        inChannels: Int, outChannels: Int, kernelHeight: Int, kernelWidth: Int, stride: Int = 1,
        padding: Padding, bias: Bool = true
    ) -> (ParameterStore, Conv2D) {
        let store = ParameterStore()
        let conv = Conv2D(
            store, name: "conv", inChannels: inChannels, outChannels: outChannels, kernelHeight: kernelHeight,
            kernelWidth: kernelWidth, strideY: stride, strideX: stride, padding: padding, bias: bias)
        store.materialize(seed: 3)
        return (store, conv)
    }

    private func gradientCheck(
        input shape: [Int], outChannels: Int, kernelHeight: Int, kernelWidth: Int, stride: Int = 1,
        padding: Padding, bias: Bool = true, file: StaticString = #filePath, line: UInt = #line
    ) {
        let (store, conv) = makeConv(
            inChannels: shape[3], outChannels: outChannels, kernelHeight: kernelHeight, kernelWidth: kernelWidth,
            stride: stride, padding: padding, bias: bias)
        let parameters = [conv.weight] + (conv.bias.map { [$0] } ?? [])
        checkGradients(
            store: store, input: randomTensor(shape, seed: 5), parameters: parameters,
            forward: conv.forward, backward: conv.backward, file: file, line: line)
    }

    func testGradients3x3Stride1Padded() {
        gradientCheck(input: [2, 5, 4, 3], outChannels: 4, kernelHeight: 3, kernelWidth: 3, padding: Padding(1))
    }

    func testGradients4x4Stride2() {
        gradientCheck(
            input: [2, 6, 8, 3], outChannels: 4, kernelHeight: 4, kernelWidth: 4, stride: 2, padding: Padding(1))
    }

    func testGradients3x3Stride2OddSizeAsymmetricPadding() {
        gradientCheck(
            input: [1, 7, 5, 2], outChannels: 3, kernelHeight: 3, kernelWidth: 3, stride: 2,
            padding: Padding(top: 0, bottom: 1, left: 2, right: 0))
    }

    func testGradients5x5() {
        gradientCheck(input: [1, 6, 7, 2], outChannels: 3, kernelHeight: 5, kernelWidth: 5, padding: Padding(2))
    }

    func testGradients1x1() {
        gradientCheck(input: [2, 3, 5, 4], outChannels: 3, kernelHeight: 1, kernelWidth: 1, padding: Padding(0))
    }

    func testGradients1x1Stride2() {
        gradientCheck(
            input: [1, 5, 5, 3], outChannels: 2, kernelHeight: 1, kernelWidth: 1, stride: 2, padding: Padding(0))
    }

    func testGradients1x3And3x1() {
        gradientCheck(
            input: [2, 4, 5, 3], outChannels: 2, kernelHeight: 1, kernelWidth: 3,
            padding: Padding(vertical: 0, horizontal: 1))
        gradientCheck(
            input: [2, 5, 4, 3], outChannels: 2, kernelHeight: 3, kernelWidth: 1,
            padding: Padding(vertical: 1, horizontal: 0))
    }

    func testGradientsAsymmetricAndCroppingPadding() {
        gradientCheck(
            input: [2, 5, 6, 2], outChannels: 3, kernelHeight: 2, kernelWidth: 3,
            padding: Padding(top: 1, bottom: 0, left: 1, right: 1))
        gradientCheck(
            input: [1, 5, 6, 2], outChannels: 3, kernelHeight: 1, kernelWidth: 2,
            padding: Padding(top: 0, bottom: 0, left: 1, right: -1))
        gradientCheck(
            input: [1, 6, 5, 2], outChannels: 2, kernelHeight: 2, kernelWidth: 3,
            padding: Padding(top: 2, bottom: -1, left: 0, right: 2), bias: false)
    }

    /// Wide patches (5x5x48: 1,200 floats, so blocks of the 256-row minimum, beyond the cache-sized 2^18 floats)
    /// over 288 rows: two blocks, the second short, and the column buffers handed back after every pass.
    func testGradientsAcrossSeveralBlocks() {
        XCTAssertEqual(
            ConvolutionGeometry(
                batch: 2, inputHeight: 12, inputWidth: 12, channels: 48, kernelHeight: 5, kernelWidth: 5, strideY: 1,
                strideX: 1, padding: Padding(2)
            ).blockRows, 256)
        gradientCheck(input: [2, 12, 12, 48], outChannels: 3, kernelHeight: 5, kernelWidth: 5, padding: Padding(2))
        gradientCheck(
            input: [2, 24, 24, 48], outChannels: 2, kernelHeight: 5, kernelWidth: 5, stride: 2, padding: Padding(2))
    }

    func testParameterGradientsAccumulate() {
        let (store, conv) = makeConv(
            inChannels: 2, outChannels: 3, kernelHeight: 3, kernelWidth: 3, padding: Padding(1))
        let x = randomTensor([1, 4, 4, 2], seed: 1)
        let dy = randomTensor(conv.outputShape(for: x.shape), seed: 2)
        _ = conv.forward(x)
        store.zeroGradients()
        _ = conv.backward(dy)
        let once = Array(UnsafeBufferPointer(start: store.gradients, count: store.count))
        let dxOnce = conv.backward(dy).array
        let twice = Array(UnsafeBufferPointer(start: store.gradients, count: store.count))
        // Equal up to the rounding of a second sum started from the first instead of from zero.
        assertClose(twice, once.map { 2 * $0 }, relative: 1e-6, absolute: 0, "accumulated gradients")
        XCTAssertEqual(conv.backward(dy).array, dxOnce, "the input gradient is overwritten, not accumulated")
    }

    func testOutputShapes() {
        let (_, conv) = makeConv(inChannels: 3, outChannels: 8, kernelHeight: 4, kernelWidth: 4, stride: 2, padding: Padding(1))
        XCTAssertEqual(conv.outputShape(for: [32, 64, 64, 3]), [32, 32, 32, 8])
        let y = conv.forward(Tensor(shape: [2, 9, 7, 3]))
        XCTAssertEqual(y.shape, [2, 4, 3, 8])
    }

    private func golden(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try GoldenFixture(name)
        let c = try fixture.values("config").map { Int($0) }
        let x = try fixture.tensor("x"), w = try fixture.tensor("weight")
        XCTAssertEqual(c[2], c[3], "square strides only")
        let (store, conv) = makeConv(
            inChannels: x.c, outChannels: w.shape[0], kernelHeight: c[0], kernelWidth: c[1], stride: c[2],
            padding: Padding(top: c[4], bottom: c[5], left: c[6], right: c[7]))
        try assertMatchesFixture(
            fixture, store: store, weight: conv.weight, bias: conv.bias, forward: conv.forward,
            backward: conv.backward, file: file, line: line)
    }

    func testGolden3x3Stride1Padding1() throws { try golden("conv3x3_s1_p1") }
    func testGolden4x4Stride2Padding1() throws { try golden("conv4x4_s2_p1") }
    func testGolden1x1() throws { try golden("conv1x1") }
    func testGolden5x5() throws { try golden("conv5x5_s1_p2") }
    func testGolden1x3() throws { try golden("conv1x3_p01") }
    func testGolden3x1() throws { try golden("conv3x1_p10") }
    func testGoldenAsymmetricPadding() throws { try golden("conv2x3_asymmetric") }
    func testGoldenStride2AsymmetricPadding() throws { try golden("conv3x3_s2_asymmetric") }
    func testGoldenCroppingPadding() throws { try golden("conv1x3_crop") }
}
