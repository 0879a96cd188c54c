@testable import Numerics
import TestSupport
import XCTest

/// The Winograd paths (stride 1, kernel 3x3 or 2x3, padding that keeps the size: output, input gradient, weight
/// and bias gradients) against the im2col path: the same convolution written as an unpadded one on the explicitly
/// zero-padded input, whose input gradient cropped to the interior is the padded one's.
final class WinogradTests: XCTestCase {
    private func compare(
        batch: Int, height: Int, width: Int, inChannels: Int, outChannels: Int, kernelHeight: Int = 3,
        padding: Padding = Padding(1), bias: Bool = true, file: StaticString = #filePath, line: UInt = #line
    ) {
        let store = ParameterStore()
        let winograd = Conv2D(
            store, name: "winograd", inChannels: inChannels, outChannels: outChannels, kernelHeight: kernelHeight,
            kernelWidth: 3, padding: padding, bias: bias)
        let im2col = Conv2D(
            store, name: "im2col", inChannels: inChannels, outChannels: outChannels, kernelHeight: kernelHeight,
            kernelWidth: 3, padding: Padding(0), bias: bias)
        XCTAssertNotNil(winograd.winograd, "Winograd path", file: file, line: line)
        XCTAssertNil(im2col.winograd, "im2col path", file: file, line: line)
        store.materialize(seed: 7)
        store.value(im2col.weight).update(from: store.value(winograd.weight), count: winograd.weight.count)
        if let b = winograd.bias, let c = im2col.bias { store.value(c).update(from: store.value(b), count: b.count) }

        let paddedHeight = height + padding.top + padding.bottom, paddedWidth = width + padding.left + padding.right
        // Where interior row y of image n starts in the padded tensor.
        func interior(_ n: Int, _ y: Int, _ channels: Int) -> Int {
            ((n * paddedHeight + y + padding.top) * paddedWidth + padding.left) * channels
        }
        let x = randomTensor([batch, height, width, inChannels], seed: 11)
        let padded = Tensor(shape: [batch, paddedHeight, paddedWidth, inChannels])
        for n in 0..<batch {
            for y in 0..<height {
                (padded.data + interior(n, y, inChannels))
                    .update(from: x.data + (n * height + y) * width * inChannels, count: width * inChannels)
            }
        }
        let y = winograd.forward(x).array
        let reference = im2col.forward(padded).array
        assertClose(y, reference, relative: 1e-6, absolute: 0, "output", file: file, line: line)

        let dy = randomTensor([batch, height, width, outChannels], seed: 13)
        let dx = winograd.backwardInput(dy).array
        let dPadded = im2col.backwardInput(dy)
        var cropped = [Float]()
        for n in 0..<batch {
            for y in 0..<height {
                let row = dPadded.data + interior(n, y, inChannels)
                cropped += UnsafeBufferPointer(start: row, count: width * inChannels)
            }
        }
        assertClose(dx, cropped, relative: 1e-6, absolute: 0, "input gradient", file: file, line: line)

        // A nonzero starting gradient, so that an overwrite in place of += fails.
        store.zeroGradients()
        for p in [winograd.weight, im2col.weight] { store.gradient(p).update(repeating: 0.5, count: p.count) }
        winograd.backwardParameters(dy)
        im2col.backwardParameters(dy)
        func gradient(_ p: Parameter) -> [Float] {
            Array(UnsafeBufferPointer(start: store.gradient(p), count: p.count))
        }
        assertClose(
            gradient(winograd.weight), gradient(im2col.weight), relative: 1e-6, absolute: 0, "weight gradient",
            file: file, line: line)
        if let b = winograd.bias, let c = im2col.bias {
            assertClose(gradient(b), gradient(c), relative: 1e-6, absolute: 0, "bias gradient", file: file, line: line)
        }
    }

    func testOddSizesAndChannels() {
        compare(batch: 3, height: 7, width: 5, inChannels: 5, outChannels: 6)
        compare(batch: 2, height: 1, width: 1, inChannels: 3, outChannels: 2)
        compare(batch: 1, height: 2, width: 9, inChannels: 13, outChannels: 7, bias: false)
    }

    /// Channel counts of the VQ-VAE, and enough tiles for several blocks.
    func testModelShapes() {
        compare(batch: 3, height: 16, width: 16, inChannels: 128, outChannels: 32)
        compare(batch: 2, height: 11, width: 8, inChannels: 64, outChannels: 128)
    }

    /// F(2x2, 2x3): the priors' mask-B vertical kernel (padding top 1, bottom 0) and its adjoint's padding (top 0,
    /// bottom 1), on odd sizes and channel counts, a single column and a single row.
    func testVerticalStackKernel() {
        for padding in [Padding(top: 1, bottom: 0, left: 1, right: 1), Padding(top: 0, bottom: 1, left: 1, right: 1)] {
            compare(batch: 3, height: 7, width: 5, inChannels: 5, outChannels: 6, kernelHeight: 2, padding: padding)
            compare(batch: 2, height: 5, width: 1, inChannels: 3, outChannels: 7, kernelHeight: 2, padding: padding)
            compare(batch: 2, height: 1, width: 6, inChannels: 7, outChannels: 3, kernelHeight: 2, padding: padding)
            compare(batch: 2, height: 1, width: 1, inChannels: 3, outChannels: 2, kernelHeight: 2, padding: padding)
            compare(
                batch: 1, height: 4, width: 9, inChannels: 13, outChannels: 9, kernelHeight: 2, padding: padding,
                bias: false)
        }
    }

    /// The priors' vertical convolution (128 -> 256) over several tile blocks, and a 3x3 kernel with one-sided
    /// padding.
    func testVerticalStackModelShapeAndAsymmetricPadding() {
        compare(
            batch: 3, height: 8, width: 8, inChannels: 128, outChannels: 256, kernelHeight: 2,
            padding: Padding(top: 1, bottom: 0, left: 1, right: 1))
        compare(
            batch: 2, height: 7, width: 6, inChannels: 6, outChannels: 5,
            padding: Padding(top: 2, bottom: 0, left: 0, right: 2))
    }

    /// Shapes the Winograd path does not take stay on im2col.
    func testRouting() {
        let store = ParameterStore()
        var layers = 0
        func routed(_ kh: Int, _ kw: Int, _ stride: Int, _ padding: Padding) -> Bool {
            layers += 1
            return Conv2D(
                store, name: "layer\(layers)", inChannels: 2, outChannels: 2, kernelHeight: kh, kernelWidth: kw,
                strideY: stride, strideX: stride, padding: padding
            ).winograd != nil
        }
        XCTAssertTrue(routed(3, 3, 1, Padding(1)))
        XCTAssertTrue(routed(2, 3, 1, Padding(top: 1, bottom: 0, left: 1, right: 1)))
        XCTAssertFalse(routed(3, 3, 2, Padding(1)))
        XCTAssertFalse(routed(3, 3, 1, Padding(0)))
        XCTAssertFalse(routed(2, 3, 1, Padding(1)))
        XCTAssertFalse(routed(1, 3, 1, Padding(top: 1, bottom: -1, left: 1, right: 1)))
        XCTAssertFalse(routed(3, 7, 1, Padding(top: 3, bottom: -1, left: 3, right: 3)))
        XCTAssertFalse(routed(3, 5, 1, Padding(top: 2, bottom: 0, left: 2, right: 2)))
    }
}
