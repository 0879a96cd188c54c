import Numerics
import TestSupport
import XCTest

final class EmbeddingTests: XCTestCase {
    func testClassEmbeddingGradients() {
        let store = ParameterStore()
        let layer = ClassEmbedding(store, name: "class", numClasses: 4, channels: 3)
        store.materialize(seed: 3)
        XCTAssertEqual(layer.weight.initializer, .normal(std: 1))
        let x = randomTensor([3, 3, 5, 3], seed: 14)
        let labels: [Int32] = [1, 3, 1]
        let y = layer.forward(x, labels: labels)
        let (w, dy) = upstream(y.shape)
        let dx = layer.backward(dy).array
        checkGradient("class dx", target: x.data, count: x.count, analytic: dx, weights: w) {
            layer.forward(x, labels: labels)
        }
        checkGradient(
            "class table", target: store.value(layer.weight), count: layer.weight.count,
            analytic: gradientArray(store, layer.weight), weights: w
        ) { layer.forward(x, labels: labels) }
    }

    func testCodeEmbeddingGradient() {
        let store = ParameterStore()
        let layer = CodeEmbedding(store, name: "codes", numCodes: 5, dimension: 3)
        store.materialize(seed: 4)
        let codes: [Int32] = (0..<15).map { Int32(($0 * 7) % 5) }
        let y = layer.forward(codes, shape: [1, 3, 5])
        XCTAssertEqual(y.shape, [1, 3, 5, 3])
        let (w, dy) = upstream(y.shape)
        layer.backward(dy)
        checkGradient(
            "code table", target: store.value(layer.weight), count: layer.weight.count,
            analytic: gradientArray(store, layer.weight), weights: w
        ) { layer.forward(codes, shape: [1, 3, 5]) }
    }

    func testAgainstPyTorch() throws {
        let fixture = try GoldenFixture("class_embedding")
        let store = ParameterStore()
        let layer = ClassEmbedding(store, name: "class", numClasses: 4, channels: 5)
        store.materialize(seed: 0)
        setValues(store, layer.weight, try fixture.values("table"))
        let labels = integers(try fixture.values("labels"))
        assertClose(layer.forward(try fixture.tensor("x"), labels: labels).array, try fixture.values("y"), "class")
        assertClose(layer.backward(try fixture.tensor("dy")).array, try fixture.values("dx"), "class dx")
        assertClose(gradientArray(store, layer.weight), try fixture.values("dtable"), "class dtable")

        let codeFixture = try GoldenFixture("code_embedding")
        let codeStore = ParameterStore()
        let codesLayer = CodeEmbedding(codeStore, name: "codes", numCodes: 6, dimension: 4)
        codeStore.materialize(seed: 0)
        setValues(codeStore, codesLayer.weight, try codeFixture.values("table"))
        let codes = integers(try codeFixture.values("codes"))
        assertClose(codesLayer.forward(codes, shape: [2, 3, 3]).array, try codeFixture.values("y"), "codes")
        codesLayer.backward(try codeFixture.tensor("dy"))
        assertClose(gradientArray(codeStore, codesLayer.weight), try codeFixture.values("dtable"), "codes dtable")
    }
}
