import Numerics
import TestSupport
import XCTest

final class ParameterInitTests: XCTestCase {
    private func makeStore(seed: UInt64) -> (ParameterStore, Linear, ClassEmbedding) {
        let store = ParameterStore()
        let linear = Linear(store, name: "fc", inFeatures: 49, outFeatures: 64)
        let embedding = ClassEmbedding(store, name: "class", numClasses: 100, channels: 40)
        store.materialize(seed: seed)
        return (store, linear, embedding)
    }

    private func values(_ store: ParameterStore, _ p: Parameter) -> [Float] {
        Array(UnsafeBufferPointer(start: store.value(p), count: p.count))
    }

    func testUniformInitStaysWithinThePyTorchBound() {
        let (store, linear, _) = makeStore(seed: 1)
        let bound: Float = 1 / 7
        for p in [linear.weight, linear.bias!] {
            let v = values(store, p)
            XCTAssertTrue(v.allSatisfy { abs($0) <= bound }, "\(p.name) exceeds 1/sqrt(fan_in)")
            XCTAssertGreaterThan(v.map { abs($0) }.max()!, 0.9 * bound, "\(p.name) does not fill the range")
        }
        let weights = values(store, linear.weight)
        let mean = weights.reduce(0, +) / Float(weights.count)
        let variance = weights.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(weights.count)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, bound * bound / 3, accuracy: 0.1 * bound * bound / 3)
    }

    func testNormalInitHasUnitStandardDeviation() {
        let (store, _, embedding) = makeStore(seed: 2)
        let v = values(store, embedding.weight)
        let mean = v.reduce(0, +) / Float(v.count)
        let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(v.count)
        XCTAssertEqual(mean, 0, accuracy: 0.1)
        XCTAssertEqual(variance, 1, accuracy: 0.1)
    }

    func testReproducibleForASeed() {
        let (a, _, _) = makeStore(seed: 7)
        let (b, _, _) = makeStore(seed: 7)
        let (c, _, _) = makeStore(seed: 8)
        let first = Array(UnsafeBufferPointer(start: a.values, count: a.count))
        XCTAssertEqual(first, Array(UnsafeBufferPointer(start: b.values, count: b.count)))
        XCTAssertNotEqual(first, Array(UnsafeBufferPointer(start: c.values, count: c.count)))
        XCTAssertTrue(Array(UnsafeBufferPointer(start: a.gradients, count: a.count)).allSatisfy { $0 == 0 })
    }
}
