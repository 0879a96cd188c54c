import Numerics
import TestSupport
import XCTest

final class EmbeddedConvolutionTests: XCTestCase {
    private struct Shape {
        let kernelHeight: Int
        let kernelWidth: Int
        let padding: Padding
    }

    /// The causal convolutions of the priors (as CausalConv2D builds them) for kernel k, and a lopsided one whose
    /// output is not the input's size.
    private func shapes(kernel k: Int) -> [(String, Shape)] {
        let half = k / 2
        return [
            ("vertical A k\(k)", Shape(
                kernelHeight: half, kernelWidth: k, padding: Padding(top: half, bottom: -1, left: half, right: half))),
            ("horizontal A k\(k)", Shape(
                kernelHeight: 1, kernelWidth: half, padding: Padding(top: 0, bottom: 0, left: half, right: -1))),
            ("vertical B k\(k)", Shape(
                kernelHeight: half + 1, kernelWidth: k,
                padding: Padding(top: half, bottom: 0, left: half, right: half))),
            ("horizontal B k\(k)", Shape(
                kernelHeight: 1, kernelWidth: half + 1, padding: Padding(top: 0, bottom: 0, left: half, right: 0))),
            ("lopsided", Shape(
                kernelHeight: 2, kernelWidth: 4, padding: Padding(top: 0, bottom: 2, left: 3, right: 1))),
        ]
    }

    private let numCodes = 11, channels = 6, outChannels = 5
    private let inputShape = [3, 5, 7]

    /// Codes 0..<10 with repeats: the last table row is never read, so its gradient must stay zero.
    private var codes: [Int32] {
        let random = CounterRandom(seed: 31, keys: [0xC0DE5])
        return (0..<inputShape.reduce(1, *)).map { Int32(random.integer(UInt64($0), below: numCodes - 1)) }
    }

    private func makeLayers(_ shape: Shape, bias: Bool = true, seed: UInt64)
        -> (ParameterStore, CodeEmbedding, Conv2D, EmbeddedConvolution)
    {
        let store = ParameterStore()
        let embedding = CodeEmbedding(store, name: "e", numCodes: numCodes, dimension: channels)
        let convolution = Conv2D(
            store, name: "c", inChannels: channels, outChannels: outChannels, kernelHeight: shape.kernelHeight,
            kernelWidth: shape.kernelWidth, padding: shape.padding, bias: bias)
        store.materialize(seed: seed)
        let tables = EmbeddedConvolution(store, embedding: embedding, convolution: convolution)
        return (store, embedding, convolution, tables)
    }

    private func gradients(_ store: ParameterStore, _ parameters: [Parameter]) -> [[Float]] {
        parameters.map { Array(UnsafeBufferPointer(start: store.gradient($0), count: $0.count)) }
    }

    func testMatchesTheConvolutionOfTheEmbeddedCodes() {
        for kernel in [3, 5, 7] {
            for (name, shape) in shapes(kernel: kernel) {
                for bias in [true, false] {
                    let (store, embedding, convolution, tables) = makeLayers(shape, bias: bias, seed: UInt64(kernel))
                    let codes = self.codes
                    let reference = convolution.forward(embedding.forward(codes, shape: inputShape))
                    let y = tables.forward(codes, shape: inputShape)
                    XCTAssertEqual(y.shape, reference.shape, name)
                    assertClose(y.array, reference.array, relative: 1e-5, absolute: 0, "\(name): y")

                    let dy = randomTensor(reference.shape, seed: 41)
                    let parameters = [embedding.weight, convolution.weight] + (bias ? [convolution.bias!] : [])
                    store.zeroGradients()
                    embedding.backward(convolution.backward(dy))
                    let expected = gradients(store, parameters)
                    store.zeroGradients()
                    tables.backward(dy)
                    for (parameter, (ours, theirs)) in zip(parameters, zip(gradients(store, parameters), expected)) {
                        assertClose(ours, theirs, relative: 1e-5, absolute: 0, "\(name): d\(parameter.name)")
                    }
                    let unused = gradients(store, [embedding.weight])[0].suffix(channels)
                    XCTAssertEqual(Array(unused), Array(repeating: 0, count: channels), "\(name): unread code")
                }
            }
        }
    }

    /// Gradients accumulate (+=) like every other layer's, rather than overwrite; backward needs no output (the
    /// gated layer releases it).
    func testBackwardAccumulates() {
        let (store, _, _, tables) = makeLayers(shapes(kernel: 5)[0].1, seed: 5)
        let codes = self.codes
        let y = tables.forward(codes, shape: inputShape)
        let dy = randomTensor(y.shape, seed: 42)
        y.release()
        store.zeroGradients()
        tables.backward(dy)
        let once = Array(UnsafeBufferPointer(start: store.gradients, count: store.count))
        tables.backward(dy)
        let twice = Array(UnsafeBufferPointer(start: store.gradients, count: store.count))
        assertClose(twice, once.map { 2 * $0 }, relative: 1e-6, absolute: 0, "twice")
    }

    func testFiniteDifferences() {
        for (name, shape) in shapes(kernel: 5) {
            let (store, _, _, tables) = makeLayers(shape, seed: 6)
            let codes = self.codes
            let y = tables.forward(codes, shape: inputShape)
            let (w, dy) = upstream(y.shape)
            store.zeroGradients()
            tables.backward(dy)
            for parameter in [tables.table, tables.weight, tables.bias!] {
                checkGradient(
                    "\(name) \(parameter.name)", target: store.value(parameter), count: parameter.count,
                    analytic: gradientArray(store, parameter), weights: w
                ) { tables.forward(codes, shape: inputShape) }
            }
        }
    }
}
