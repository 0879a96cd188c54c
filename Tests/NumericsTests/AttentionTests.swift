import Numerics
import TestSupport
import XCTest

final class AttentionTests: XCTestCase {
    private func makeLayer(channels: Int, heads: Int, strict: Bool, seed: UInt64) -> (ParameterStore, CausalSelfAttention) {
        let store = ParameterStore()
        let layer = CausalSelfAttention(store, name: "attn", channels: channels, heads: heads, strict: strict)
        store.materialize(seed: seed)
        return (store, layer)
    }

    func testGradientsAgainstFiniteDifferences() {
        for strict in [false, true] {
            let (store, layer) = makeLayer(channels: 6, heads: 3, strict: strict, seed: 5)
            let x = randomTensor([2, 3, 5, 6], seed: 15, scale: 2)
            let y = layer.forward(x)
            XCTAssertEqual(y.shape, x.shape)
            let (w, dy) = upstream(y.shape)
            let dx = layer.backward(dy).array
            let label = strict ? "strict" : "inclusive"
            checkGradient("attention dx \(label)", target: x.data, count: x.count, analytic: dx, weights: w) {
                layer.forward(x)
            }
            for p in store.parameters {
                checkGradient(
                    "\(p.name) \(label)", target: store.value(p), count: p.count,
                    analytic: gradientArray(store, p), weights: w
                ) { layer.forward(x) }
            }
        }
    }

    /// Perturbing position j changes no output at a position before j (raster order).
    func testCausality() {
        for strict in [false, true] {
            let (_, layer) = makeLayer(channels: 4, heads: 2, strict: strict, seed: 6)
            let x = randomTensor([1, 3, 3, 4], seed: 16)
            let reference = layer.forward(x).array
            for j in 0..<9 {
                let perturbed = Tensor(shape: x.shape, values: x.array)
                for k in 0..<4 { perturbed.data[j * 4 + k] += 1.5 }
                let y = layer.forward(perturbed).array
                XCTAssertEqual(Array(y[0..<(j * 4)]), Array(reference[0..<(j * 4)]), "position \(j) leaked backwards")
                XCTAssertNotEqual(Array(y[(j * 4)...]), Array(reference[(j * 4)...]), "position \(j) has no effect")
            }
        }
    }

    /// With j < i the first position sees nothing, so its output is the output projection's bias.
    func testStrictFirstPositionIsTheBias() {
        let (store, layer) = makeLayer(channels: 4, heads: 2, strict: true, seed: 7)
        let y = layer.forward(randomTensor([2, 2, 3, 4], seed: 17)).array
        let bias = Array(UnsafeBufferPointer(start: store.value(layer.outputProjection.bias!), count: 4))
        XCTAssertEqual(Array(y[0..<4]), bias)
        XCTAssertEqual(Array(y[24..<28]), bias)
    }

    func testAgainstPyTorch() throws {
        let fixture = try GoldenFixture("attention")
        let (store, layer) = makeLayer(channels: 8, heads: 2, strict: false, seed: 0)
        let inProj = layer.inputProjection, outProj = layer.outputProjection
        setValues(store, inProj.weight, try fixture.values("qkv.weight"))
        setValues(store, inProj.bias!, try fixture.values("qkv.bias"))
        setValues(store, outProj.weight, try fixture.values("out.weight"))
        setValues(store, outProj.bias!, try fixture.values("out.bias"))
        assertClose(layer.forward(try fixture.tensor("x")).array, try fixture.values("y"), "attention")
        assertClose(layer.backward(try fixture.tensor("dy")).array, try fixture.values("dx"), "attention dx")
        assertClose(gradientArray(store, inProj.weight), try fixture.values("dqkv.weight"), "dqkv.weight")
        assertClose(gradientArray(store, inProj.bias!), try fixture.values("dqkv.bias"), "dqkv.bias")
        assertClose(gradientArray(store, outProj.weight), try fixture.values("dout.weight"), "dout.weight")
        assertClose(gradientArray(store, outProj.bias!), try fixture.values("dout.bias"), "dout.bias")
    }
}
