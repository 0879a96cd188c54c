import Numerics
import TestSupport
import XCTest

final class VectorQuantizationTests: XCTestCase {
    /// Brute-force nearest code in Double.
    private func nearest(_ z: UnsafePointer<Float>, _ codebook: [Float], codes: Int, dimension: Int) -> Int32 {
        var best = 0
        var bestDistance = Double.infinity
        for i in 0..<codes {
            var d = 0.0
            for j in 0..<dimension {
                let diff = Double(z[j]) - Double(codebook[i * dimension + j])
                d += diff * diff
            }
            if d < bestDistance { bestDistance = d; best = i }
        }
        return Int32(best)
    }

    func testSearchMatchesBruteForceAcrossBlocks() {
        let k = 37, d = 5
        let codebook = randomTensor([k, d], seed: 23).array
        let z = randomTensor([2, 11, 13, d], seed: 24)
        let vq = VectorQuantizer(numCodes: k, dimension: d)
        let indices = codebook.withUnsafeBufferPointer { vq.search(z, codebook: $0.baseAddress!) }
        XCTAssertEqual(indices.count, 286)
        for r in 0..<286 {
            XCTAssertEqual(indices[r], nearest(z.data + r * d, codebook, codes: k, dimension: d), "vector \(r)")
        }
    }

    /// A vector's code must not depend on where it sits in the batch (ranks see different slices of one batch).
    func testSearchDoesNotDependOnTheBatchSplit() {
        let k = 64, d = 9
        let codebook = randomTensor([k, d], seed: 28).array
        let whole = randomTensor([600, d], seed: 29)
        let tail = Tensor(shape: [299, d], values: Array(whole.array[(301 * d)...]))
        let vq = VectorQuantizer(numCodes: k, dimension: d)
        codebook.withUnsafeBufferPointer { book in
            let all = vq.search(whole, codebook: book.baseAddress!)
            XCTAssertEqual(Array(all[301...]), vq.search(tail, codebook: book.baseAddress!))
        }
    }

    func testTiesGoToTheLowestIndex() {
        // Codes 1 and 3 are equal, and code 2 is as far from the first input as they are: the lowest index wins.
        let codebook: [Float] = [5, 5, 1, 0, -1, 0, 1, 0]
        let z = Tensor(shape: [3, 2], values: [0, 0, 1, 0, 0.9, 0.1])
        let vq = VectorQuantizer(numCodes: 4, dimension: 2)
        let indices = codebook.withUnsafeBufferPointer { vq.search(z, codebook: $0.baseAddress!) }
        XCTAssertEqual(indices, [1, 1, 1])
    }

    func testGatherAndStraightThrough() {
        let k = 6, d = 3
        let codebook = randomTensor([k, d], seed: 25).array
        let z = randomTensor([2, 3, 3, d], seed: 26)
        let vq = VectorQuantizer(numCodes: k, dimension: d)
        let q = codebook.withUnsafeBufferPointer { vq.forward(z, codebook: $0.baseAddress!) }
        XCTAssertEqual(q.shape, z.shape)
        for r in 0..<18 {
            let code = Int(vq.indices[r])
            XCTAssertEqual(Array(q.array[(r * d)..<(r * d + d)]), Array(codebook[(code * d)..<(code * d + d)]))
        }
        let (_, dy) = upstream(q.shape)
        XCTAssertEqual(vq.backward(dy, commitment: 0).array, dy.array, "straight-through passes dL/dq unchanged")
    }

    func testCommitmentGradientAgainstFiniteDifferences() {
        let k = 5, d = 3
        // Codes far apart, inputs near them, so a small step never changes the chosen code.
        let codebook = (0..<(k * d)).map { Float(($0 * 7) % 11) - 5 }
        let z = randomTensor([1, 3, 5, d], seed: 27, scale: 0.3)
        for i in 0..<z.count { z.data[i] += codebook[(i / d % k) * d + i % d] }
        let vq = VectorQuantizer(numCodes: k, dimension: d)
        codebook.withUnsafeBufferPointer { book in
            _ = vq.forward(z, codebook: book.baseAddress!)
            let analytic = vq.backward(Tensor(shape: z.shape), commitment: 1).array
            GradientCheck().check("commitment", target: z.data, count: z.count, analytic: analytic) {
                _ = vq.forward(z, codebook: book.baseAddress!)
                let value = Double(vq.commitmentLoss())
                return (value, abs(value))
            }
        }
    }

    func testAgainstPyTorch() throws {
        let fixture = try GoldenFixture("vector_quantization")
        let codebook = try fixture.values("codebook")
        let vq = VectorQuantizer(numCodes: 9, dimension: 4)
        let z = try fixture.tensor("z")
        let q = codebook.withUnsafeBufferPointer { vq.forward(z, codebook: $0.baseAddress!) }
        XCTAssertEqual(vq.indices, integers(try fixture.values("indices")))
        assertClose(q.array, try fixture.values("quantized"), "quantized")
        assertClose([vq.commitmentLoss()], try fixture.values("commitment"), "commitment")
        let beta = try fixture.values("beta")[0]
        assertClose(vq.backward(try fixture.tensor("dy"), commitment: beta).array, try fixture.values("dz"), "dz")
    }
}
