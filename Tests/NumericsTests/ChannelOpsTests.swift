import Numerics
import TestSupport
import XCTest

final class ChannelOpsTests: XCTestCase {
    func testConcatThenSplitRoundTrips() {
        let a = randomTensor([2, 3, 5, 3], seed: 4), b = randomTensor([2, 3, 5, 4], seed: 5)
        let concat = ChannelConcat()
        let y = concat.forward(a, b)
        XCTAssertEqual(y.shape, [2, 3, 5, 7])
        XCTAssertEqual(y.data[7 + 2], a.data[3 + 2])
        XCTAssertEqual(y.data[7 + 3 + 1], b.data[4 + 1])
        let (first, second) = ChannelSplit().forward(y, firstWidth: 3)
        XCTAssertEqual(first.array, a.array)
        XCTAssertEqual(second.array, b.array)
    }

    func testConcatGradients() {
        let a = randomTensor([1, 3, 5, 2], seed: 6), b = randomTensor([1, 3, 5, 3], seed: 7)
        let concat = ChannelConcat()
        let y = concat.forward(a, b)
        let (w, dy) = upstream(y.shape)
        let (da, db) = concat.backward(dy)
        let daValues = da.array, dbValues = db.array
        checkGradient("concat a", target: a.data, count: a.count, analytic: daValues, weights: w) {
            concat.forward(a, b)
        }
        checkGradient("concat b", target: b.data, count: b.count, analytic: dbValues, weights: w) {
            concat.forward(a, b)
        }
    }

    func testSplitGradient() {
        let x = randomTensor([2, 3, 3, 5], seed: 8)
        let split = ChannelSplit()
        let (first, second) = split.forward(x, firstWidth: 2)
        let (w1, d1) = upstream(first.shape, seed: 1)
        let (w2, d2) = upstream(second.shape, seed: 2)
        let dx = split.backward(d1, d2).array
        let weights = w1 + w2
        let both = Tensor(shape: [x.count])
        checkGradient("split", target: x.data, count: x.count, analytic: dx, weights: weights) {
            let (f, s) = split.forward(x, firstWidth: 2)
            both.data.update(from: f.data, count: f.count)
            (both.data + f.count).update(from: s.data, count: s.count)
            return both
        }
    }

    func testResidualAdd() {
        let a = randomTensor([2, 3, 5, 3], seed: 9), b = randomTensor([2, 3, 5, 3], seed: 10)
        let add = ResidualAdd()
        let y = add.forward(a, b)
        let sum = zip(a.array, b.array).map { $0 + $1 }
        XCTAssertEqual(y.array, sum)
        let (w, dy) = upstream(y.shape)
        let (da, db) = add.backward(dy)
        let daValues = da.array, dbValues = db.array
        checkGradient("residual a", target: a.data, count: a.count, analytic: daValues, weights: w) {
            add.forward(a, b)
        }
        checkGradient("residual b", target: b.data, count: b.count, analytic: dbValues, weights: w) {
            add.forward(a, b)
        }
        let target = Tensor(shape: a.shape, values: a.array)
        ResidualAdd.accumulate(b, into: target)
        XCTAssertEqual(target.array, sum)
    }
}
