import Numerics
import TestSupport
import XCTest

/// The Winograd path (3x3, stride 1, padding 1: output, input gradient, weight gradient) against the im2col path: the same convolution written as an
/// unpadded 3x3 convolution of the explicitly zero-padded input, whose input gradient cropped to the interior
/// is the padded one's.
final class WinogradTests: XCTestCase {
    private func compare(
        batch: Int, height: Int, width: Int, inChannels: Int, outChannels: Int, bias: Bool = true,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let store = ParameterStore()
        let winograd = Conv2D(
            store, name: "winograd", inChannels: inChannels, outChannels: outChannels, kernel: 3, padding: 1,
            bias: bias)
        let im2col = Conv2D(
            store, name: "im2col", inChannels: inChannels, outChannels: outChannels, kernel: 3, padding: 0,
            bias: bias)
        store.materialize(seed: 7)
        store.value(im2col.weight).update(from: store.value(winograd.weight), count: winograd.weight.count)
        if let b = winograd.bias, let c = im2col.bias { store.value(c).update(from: store.value(b), count: b.count) }

        let x = randomTensor([batch, height, width, inChannels], seed: 11)
        let padded = Tensor(shape: [batch, height + 2, width + 2, inChannels])
        for n in 0..<batch {
            for y in 0..<height {
                (padded.data + ((n * (height + 2) + y + 1) * (width + 2) + 1) * inChannels)
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
                let row = dPadded.data + ((n * (height + 2) + y + 1) * (width + 2) + 1) * inChannels
                cropped += UnsafeBufferPointer(start: row, count: width * inChannels)
            }
        }
        assertClose(dx, cropped, relative: 1e-6, absolute: 0, "input gradient", file: file, line: line)

        store.zeroGradients()
        winograd.backwardParameters(dy)
        im2col.backwardParameters(dy)
        func gradient(_ p: Parameter) -> [Float] { Array(UnsafeBufferPointer(start: store.gradient(p), count: p.count)) }
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
}
