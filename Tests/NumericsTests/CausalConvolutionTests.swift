import Numerics
import TestSupport
import XCTest

final class CausalConvolutionTests: XCTestCase {
    /// The input positions (r', c') that output (r, c) of one causal convolution may depend on.
    private func inReach(
        _ stack: CausalConv2D.Stack, _ mask: CausalConv2D.Mask, kernel: Int, output: (Int, Int), input: (Int, Int)
    ) -> Bool {
        let half = kernel / 2, last = mask == .a ? -1 : 0
        let dy = input.0 - output.0, dx = input.1 - output.1
        switch stack {
        case .vertical: return dy >= -half && dy <= last && abs(dx) <= half
        case .horizontal: return dy == 0 && dx >= -half && dx <= last
        }
    }

    /// For every input position, perturbs it (all channels) and reports which output positions changed.
    private func dependencies(
        height: Int, width: Int, channels: Int, _ forward: (Tensor) -> Tensor
    ) -> [[Set<Int>]] {
        let x = randomTensor([1, height, width, channels], seed: 21)
        let base = forward(x).array
        var changed = Array(repeating: Array(repeating: Set<Int>(), count: width), count: height)
        for r in 0..<height {
            for c in 0..<width {
                let perturbed = Tensor(shape: x.shape)
                perturbed.copy(from: x)
                for k in 0..<channels { perturbed.data[(r * width + c) * channels + k] += 1 }
                let y = forward(perturbed).array
                let outChannels = y.count / (height * width)
                for p in 0..<height * width where (0..<outChannels).contains(where: {
                    y[p * outChannels + $0] != base[p * outChannels + $0]
                }) {
                    changed[r][c].insert(p)
                }
            }
        }
        return changed
    }

    func testEachStackAndMaskSeesExactlyItsCausalNeighbourhood() {
        for kernel in [3, 5] {
            for stack in [CausalConv2D.Stack.vertical, .horizontal] {
                for mask in [CausalConv2D.Mask.a, .b] {
                    let store = ParameterStore()
                    let conv = CausalConv2D(
                        store, name: "c", stack: stack, mask: mask, kernel: kernel, inChannels: 2, outChannels: 3)
                    store.materialize(seed: 12)
                    let height = 6, width = 7
                    XCTAssertEqual(conv.forward(Tensor(shape: [1, height, width, 2])).shape, [1, height, width, 3])
                    let changed = dependencies(height: height, width: width, channels: 2, conv.forward)
                    for r in 0..<height {
                        for c in 0..<width {
                            for p in 0..<height * width {
                                let expected = inReach(
                                    stack, mask, kernel: kernel, output: (p / width, p % width), input: (r, c))
                                XCTAssertEqual(
                                    changed[r][c].contains(p), expected,
                                    "\(stack) mask \(mask) k\(kernel): input (\(r), \(c)) -> output \(p)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Three gated-PixelCNN-style layers (gates left out: they do not change which positions are connected):
    /// v <- vertical(v); h <- horizontal(h) + 1x1(v); the first layer with mask A, the others with mask B.
    func testStackedLayersAreCausalWithoutBlindSpot() {
        let store = ParameterStore()
        let channels = 2
        let layers = (0..<3).map { l in
            (
                CausalConv2D(
                    store, name: "v\(l)", stack: .vertical, mask: l == 0 ? .a : .b, kernel: 3,
                    inChannels: channels, outChannels: channels),
                CausalConv2D(
                    store, name: "h\(l)", stack: .horizontal, mask: l == 0 ? .a : .b, kernel: 3,
                    inChannels: channels, outChannels: channels),
                Conv2D(store, name: "link\(l)", inChannels: channels, outChannels: channels, kernel: 1)
            )
        }
        store.materialize(seed: 13)
        let forward = { (x: Tensor) -> Tensor in
            var v = x
            var h = x
            for (vertical, horizontal, link) in layers {
                v = vertical.forward(v)
                let sum = Tensor(shape: v.shape)
                sum.copy(from: horizontal.forward(h))
                let linked = link.forward(v)
                for i in 0..<sum.count { sum.data[i] += linked.data[i] }
                h = sum
            }
            return h
        }
        let height = 7, width = 8
        let changed = dependencies(height: height, width: width, channels: channels, forward)
        for r in 0..<height {
            for c in 0..<width {
                let perturbed = r * width + c
                for p in 0...perturbed {
                    XCTAssertFalse(
                        changed[r][c].contains(p), "perturbing raster position \(perturbed) changed output \(p)")
                }
                // Receptive field after three layers: three to the left in the same row, and rows r-3 ... r-1
                // three either side, upper right included (no blind spot).
                for p in 0..<height * width {
                    let dy = r - p / width, dx = c - p % width
                    let expected = (dy == 0 && dx >= -3 && dx <= -1) || (dy >= -3 && dy <= -1 && abs(dx) <= 3)
                    XCTAssertEqual(changed[r][c].contains(p), expected, "input (\(r), \(c)) -> output \(p)")
                }
            }
        }
    }

    func testGradients() {
        for (stack, mask) in [(CausalConv2D.Stack.vertical, CausalConv2D.Mask.a), (.vertical, .b), (.horizontal, .a), (.horizontal, .b)] {
            let store = ParameterStore()
            let conv = CausalConv2D(store, name: "c", stack: stack, mask: mask, kernel: 5, inChannels: 2, outChannels: 3)
            store.materialize(seed: 14)
            checkGradients(
                store: store, input: randomTensor([2, 5, 6, 2], seed: 15),
                parameters: [conv.convolution.weight, conv.convolution.bias!],
                forward: conv.forward, backward: conv.backward)
        }
    }
}
