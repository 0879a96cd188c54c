import Numerics
import TestSupport
import XCTest

final class ConvTranspose2DTests: XCTestCase {
    private func makeLayer(
        inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool = true
    ) -> (ParameterStore, ConvTranspose2D) {
        let store = ParameterStore()
        let layer = ConvTranspose2D(
            store, name: "up", inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
            padding: padding, bias: bias)
        store.materialize(seed: 4)
        return (store, layer)
    }

    private func gradientCheck(
        input shape: [Int], outChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool = true,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let (store, layer) = makeLayer(
            inChannels: shape[3], outChannels: outChannels, kernel: kernel, stride: stride, padding: padding,
            bias: bias)
        checkGradients(
            store: store, input: randomTensor(shape, seed: 6),
            parameters: [layer.weight] + (layer.bias.map { [$0] } ?? []),
            forward: layer.forward, backward: layer.backward, file: file, line: line)
    }

    func testGradients4x4Stride2Padding1() {
        gradientCheck(input: [2, 3, 4, 3], outChannels: 2, kernel: 4, stride: 2, padding: 1)
    }

    func testGradients3x3Stride2Padding1() {
        gradientCheck(input: [1, 3, 5, 2], outChannels: 3, kernel: 3, stride: 2, padding: 1)
    }

    func testGradients3x3Stride1() {
        gradientCheck(input: [1, 4, 3, 2], outChannels: 2, kernel: 3, stride: 1, padding: 0, bias: false)
    }

    /// A wide output patch (4x4x128) splits the input positions into several cache-sized blocks.
    func testGradientsAcrossSeveralBlocks() {
        gradientCheck(input: [1, 12, 12, 3], outChannels: 128, kernel: 4, stride: 2, padding: 1)
    }

    func testGradientsAsymmetricPadding() {
        let store = ParameterStore()
        let layer = ConvTranspose2D(
            store, name: "up", inChannels: 2, outChannels: 3, kernelHeight: 2, kernelWidth: 3, strideY: 2,
            strideX: 1, padding: Padding(top: 1, bottom: 0, left: 0, right: 2))
        store.materialize(seed: 9)
        checkGradients(
            store: store, input: randomTensor([2, 3, 4, 2], seed: 8), parameters: [layer.weight, layer.bias!],
            forward: layer.forward, backward: layer.backward)
    }

    func testOutputShapeDoubles() {
        let (_, layer) = makeLayer(inChannels: 4, outChannels: 2, kernel: 4, stride: 2, padding: 1)
        XCTAssertEqual(layer.outputShape(for: [32, 8, 8, 4]), [32, 16, 16, 2])
        XCTAssertEqual(layer.forward(Tensor(shape: [1, 3, 5, 4])).shape, [1, 6, 10, 2])
    }

    private func golden(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try GoldenFixture(name)
        let c = try fixture.values("config").map { Int($0) }
        let x = try fixture.tensor("x"), w = try fixture.tensor("weight")
        let (store, layer) = makeLayer(
            inChannels: x.c, outChannels: w.shape[3], kernel: c[0], stride: c[2], padding: c[4])
        try assertMatchesFixture(
            fixture, store: store, weight: layer.weight, bias: layer.bias, forward: layer.forward,
            backward: layer.backward, file: file, line: line)
    }

    func testGolden4x4Stride2Padding1() throws { try golden("convT4x4_s2_p1") }
    func testGolden3x3Stride2Padding1() throws { try golden("convT3x3_s2_p1") }
    func testGolden3x3Stride1() throws { try golden("convT3x3_s1_p0") }
}
