@testable import Numerics
import TestSupport
import XCTest

/// The rank's thread pool: every piece runs once, nested loops run inline, and the layers that split their work
/// give the same bits with 1, 2 or 3 threads (the pieces depend on the shape alone).
final class ThreadCountTests: XCTestCase {
    override func tearDown() {
        ThreadPool.shared.configure(threads: 1)
        super.tearDown()
    }

    func testEveryPieceRunsOnceOnAThreadOfThePool() {
        for threads in [1, 2, 3] {
            ThreadPool.shared.configure(threads: threads)
            for pieces in [0, 1, 2, 7, 100] {
                let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(pieces, 1))
                counts.initialize(repeating: 0)
                defer { counts.deallocate() }
                var wrongThread = false
                ThreadPool.shared.run(pieces: pieces) { piece, thread in
                    counts[piece] += 1
                    if thread < 0 || thread >= threads { wrongThread = true }
                }
                XCTAssertEqual(Array(counts.prefix(pieces)), Array(repeating: 1, count: pieces), "\(threads) threads, \(pieces) pieces")
                XCTAssertFalse(wrongThread)
            }
        }
    }

    func testTheThreadsReallyShareTheWork() {
        ThreadPool.shared.configure(threads: 2)
        let seen = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 2)
        seen.initialize(repeating: false)
        defer { seen.deallocate() }
        // Pieces long enough that the worker wakes before the caller has taken them all.
        ThreadPool.shared.run(pieces: 64) { _, thread in
            seen[thread] = true
            usleep(2_000)
        }
        XCTAssertEqual(Array(seen), [true, true])
    }

    func testANestedLoopRunsInTheCallingThread() {
        ThreadPool.shared.configure(threads: 2)
        let inner = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4 * 5)
        inner.initialize(repeating: -1)
        defer { inner.deallocate() }
        ThreadPool.shared.run(pieces: 4) { outer, thread in
            ThreadPool.shared.run(pieces: 5) { piece, innerThread in
                // The inner pieces report the thread number 0: they run on the outer piece's thread, in order.
                inner[outer * 5 + piece] = innerThread == 0 ? thread : -2
            }
        }
        XCTAssertFalse(inner.contains(-1), "an inner piece did not run")
        XCTAssertFalse(inner.contains(-2), "an inner piece ran on another thread")
    }

    func testForEachRangeCoversEveryElementOnce() {
        for threads in [1, 2, 3] {
            ThreadPool.shared.configure(threads: threads)
            for count in [0, 1, 100, 40_000, 100_003] {
                var covered = [Int](repeating: 0, count: count)
                covered.withUnsafeMutableBufferPointer { covered in
                    ThreadPool.shared.forEachRange(count: count, grain: 1000) { range, _ in
                        for i in range { covered[i] += 1 }
                    }
                }
                XCTAssertEqual(covered, [Int](repeating: 1, count: count), "\(threads) threads, count \(count)")
            }
        }
    }

    /// Each axis of `GEMMPieces` (rows, columns, inner), with transposed operands, strides and beta: the same bits
    /// for every thread count, and the product itself within rounding of a direct sum.
    func testMatrixProductsInPiecesDoNotDependOnTheThreadCount() {
        struct Case {
            let m, n, k: Int
            let transA, transB: Bool
            let beta: Float
        }
        let cases = [
            Case(m: 600, n: 64, k: 96, transA: false, transB: true, beta: 0),
            Case(m: 600, n: 64, k: 96, transA: true, transB: false, beta: 1),
            Case(m: 64, n: 700, k: 80, transA: false, transB: false, beta: 0.5),
            Case(m: 64, n: 700, k: 80, transA: true, transB: true, beta: 0),
            Case(m: 48, n: 40, k: 3000, transA: true, transB: false, beta: 1),
            Case(m: 48, n: 40, k: 3000, transA: false, transB: true, beta: 0),
        ]
        for c in cases {
            let pieces = GEMMPieces(m: c.m, n: c.n, k: c.k)
            XCTAssertGreaterThan(pieces.count, 1, "\(c) should be split")
            let a = randomTensor([c.m * c.k], seed: 3), b = randomTensor([c.k * c.n], seed: 4)
            let start = randomTensor([c.m * c.n], seed: 5)
            func product(threads: Int) -> [Float] {
                ThreadPool.shared.configure(threads: threads)
                let out = Tensor(shape: [c.m * c.n], values: start.array)
                BLAS.sgemm(
                    transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, a: a.data, b: b.data, beta: c.beta,
                    c: out.data)
                return out.array
            }
            let one = product(threads: 1)
            assertSameBits(product(threads: 2), one, "\(c), \(pieces.axis): 2 threads")
            assertSameBits(product(threads: 3), one, "\(c), \(pieces.axis): 3 threads")

            var direct = [Float](repeating: 0, count: c.m * c.n)
            for i in 0..<c.m {
                for j in 0..<c.n {
                    var sum: Double = 0
                    for l in 0..<c.k {
                        let x = c.transA ? a.data[l * c.m + i] : a.data[i * c.k + l]
                        let y = c.transB ? b.data[j * c.k + l] : b.data[l * c.n + j]
                        sum += Double(x) * Double(y)
                    }
                    direct[i * c.n + j] = Float(sum) + c.beta * start.data[i * c.n + j]
                }
            }
            assertClose(one, direct, relative: 1e-4, absolute: 1e-4, "\(c) against a direct sum")
        }
    }

    /// Winograd (3x3 and the priors' 2x3), im2col (a 4x4 stride-2 and a 1x2 kernel) and a pointwise convolution,
    /// at sizes with several blocks and groups: output, input gradient and parameter gradients.
    func testConvolutionsDoNotDependOnTheThreadCount() {
        let shapes: [(kh: Int, kw: Int, stride: Int, padding: Padding, inC: Int, outC: Int, side: Int)] = [
            (3, 3, 1, Padding(1), 32, 48, 24),
            (2, 3, 1, Padding(top: 1, bottom: 0, left: 1, right: 1), 48, 32, 20),
            (4, 4, 2, Padding(1), 16, 32, 32),
            (1, 2, 1, Padding(top: 0, bottom: 0, left: 1, right: 0), 32, 32, 24),
            (1, 1, 1, Padding(0), 64, 48, 24),
        ]
        for shape in shapes {
            func run(threads: Int) -> [[Float]] {
                ThreadPool.shared.configure(threads: threads)
                let store = ParameterStore()
                let conv = Conv2D(
                    store, name: "conv", inChannels: shape.inC, outChannels: shape.outC, kernelHeight: shape.kh,
                    kernelWidth: shape.kw, strideY: shape.stride, strideX: shape.stride, padding: shape.padding)
                store.materialize(seed: 9)
                let x = randomTensor([6, shape.side, shape.side, shape.inC], seed: 21)
                let y = conv.forward(x)
                let dy = randomTensor(y.shape, seed: 22)
                let dx = conv.backward(dy)
                return [y.array, dx.array, gradientArray(store, conv.weight), gradientArray(store, conv.bias!)]
            }
            let one = run(threads: 1)
            for threads in [2, 3] {
                let other = run(threads: threads)
                for (name, index) in [("output", 0), ("input gradient", 1), ("weight gradient", 2), ("bias gradient", 3)] {
                    assertSameBits(other[index], one[index], "\(shape) \(name), \(threads) threads")
                }
            }
        }
    }
}

/// Fails unless both arrays hold the same bits, naming how many elements differ and the first of them.
func assertSameBits(
    _ ours: [Float], _ reference: [Float], _ message: String, file: StaticString = #filePath, line: UInt = #line
) {
    guard ours.count == reference.count else {
        XCTFail("\(message): \(ours.count) elements, expected \(reference.count)", file: file, line: line)
        return
    }
    let differing = zip(ours, reference).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
    if let first = differing.first {
        XCTFail(
            "\(message): \(differing.count) of \(ours.count) elements differ, first at \(first.offset): "
                + "\(first.element.0) instead of \(first.element.1)", file: file, line: line)
    }
}
