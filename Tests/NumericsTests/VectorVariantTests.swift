@testable import Numerics
import XCTest

/// Every kernel of every variant this machine can run against the baseline, bit for bit (no kernel fuses a
/// multiply and an add, so no tolerance is stated), on lengths and channel counts around each lane width and on
/// values that take every branch: NaN, infinities, signed zeros, both clamps of exp, both formulas of tanh.
final class VectorVariantTests: XCTestCase {
    /// The variants to compare with the baseline; skips the case, naming why, for one this machine lacks.
    private func kernels(_ variant: VectorVariant) throws -> VectorKernels {
        if let reason = variant.unsupportedReason { throw XCTSkip("vector variant \(variant) not runnable here: \(reason)") }
        return VectorKernels(variant)
    }

    private let baseline = VectorKernels(.baseline)

    /// Lengths below, at and past 8 and 16 lanes, and a model-sized one.
    private let lengths = [1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 33, 128, 131]

    /// `count` values: mostly uniform in [-120, 120] (past exp's clamps), dense near zero, and the special ones.
    private func values(_ count: Int, seed: UInt64) -> [Float] {
        let random = CounterRandom(seed: seed, keys: [0x7EC7])
        let special: [Float] = [
            .nan, .infinity, -.infinity, 0, -0, .leastNormalMagnitude / 4, -.leastNormalMagnitude / 4, 0.125, -0.125, 0.124_999_99, 87, -87, 88, -88, 89,
            -89, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        ]
        return (0..<count).map { i in
            if i % 5 == 4 { return special[(i / 5) % special.count] }
            let u = 2 * random.uniform(UInt64(i)) - 1
            return i % 3 == 0 ? u * 0.2 : u * u * u * 120
        }
    }

    private func assertSameBits(
        _ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        guard let i = a.indices.first(where: { a[$0].bitPattern != b[$0].bitPattern }) else { return }
        XCTFail("\(what): element \(i) is \(a[i]) (\(String(a[i].bitPattern, radix: 16))), baseline \(b[i]) "
                + "(\(String(b[i].bitPattern, radix: 16)))", file: file, line: line)
    }

    private func checkElementwise(_ variant: VectorVariant) throws {
        let other = try kernels(variant)
        for n in lengths {
            let x = values(n, seed: UInt64(n)), dy = values(n, seed: UInt64(n) + 1000)
            func relu(_ k: VectorKernels) -> ([Float], [Float]) {
                var y = [Float](repeating: 7, count: n), dx = [Float](repeating: 7, count: n)
                k.reluForward(x, &y, count: n)
                k.reluBackward(output: x, dy, &dx, count: n)
                return (y, dx)
            }
            let (y, dx) = relu(other), (y0, dx0) = relu(baseline)
            assertSameBits(y, y0, "\(variant) ReLU forward, \(n)")
            assertSameBits(dx, dx0, "\(variant) ReLU backward, \(n)")

            func add(_ k: VectorKernels) -> [Float] {
                var to = dy
                k.add(x, into: &to, count: n)
                return to
            }
            assertSameBits(add(other), add(baseline), "\(variant) add, \(n)")
        }
    }

    private func checkGate(_ variant: VectorVariant) throws {
        let other = try kernels(variant)
        for c in lengths {
            let rows = 3
            let x = values(rows * 2 * c, seed: UInt64(c) + 2000), dy = values(rows * c, seed: UInt64(c) + 3000)
            func gate(_ k: VectorKernels) -> (y: [Float], gates: [Float], dx: [Float]) {
                var y = [Float](repeating: 7, count: rows * c), gates = [Float](repeating: 7, count: rows * 2 * c)
                var dx = [Float](repeating: 7, count: rows * 2 * c)
                k.gateForward(x, gates: &gates, &y, rows: rows, channels: c)
                k.gateBackward(gates: gates, dy, &dx, rows: rows, channels: c)
                return (y, gates, dx)
            }
            let a = gate(other), b = gate(baseline)
            assertSameBits(a.gates, b.gates, "\(variant) tanh and sigmoid, \(c) channels")
            assertSameBits(a.y, b.y, "\(variant) gate forward, \(c) channels")
            assertSameBits(a.dx, b.dx, "\(variant) gate backward, \(c) channels")
        }
    }

    private func checkWinograd(_ variant: VectorVariant) throws {
        let other = try kernels(variant)
        for c in lengths {
            for tall in [true, false] {
                let stride = 16 * c + 5
                let patch = (0..<16).map { values(c, seed: UInt64(100 * c + $0)) }
                func withRows<R>(_ rows: [[Float]], _ body: (UnsafePointer<UnsafePointer<Float>?>) -> R) -> R {
                    let pointers = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: rows.count)
                    defer { pointers.deallocate() }
                    let copies = rows.map { row -> UnsafeMutablePointer<Float> in
                        let p = UnsafeMutablePointer<Float>.allocate(capacity: row.count)
                        p.initialize(from: row, count: row.count)
                        return p
                    }
                    defer { copies.forEach { $0.deallocate() } }
                    for (i, p) in copies.enumerated() { pointers[i] = UnsafePointer(p) }
                    return body(pointers)
                }
                func transforms(_ k: VectorKernels) -> (input: [Float], gradient: [Float], output: [Float]) {
                    var input = [Float](repeating: 7, count: 16 * stride)
                    var gradient = [Float](repeating: 7, count: 16 * stride)
                    withRows(patch) { k.winogradInput(rows: $0, tall: tall, channels: c, into: &input, stride: stride) }
                    withRows(Array(patch.prefix(4))) {
                        k.winogradGradient(rows: $0, tall: tall, channels: c, into: &gradient, stride: stride)
                    }
                    let products = values(16 * stride, seed: UInt64(c) + 4000), bias = values(c, seed: UInt64(c) + 5000)
                    let outputs = UnsafeMutablePointer<Float>.allocate(capacity: 4 * c)
                    defer { outputs.deallocate() }
                    outputs.initialize(repeating: 7, count: 4 * c)
                    let rows = UnsafeMutablePointer<UnsafeMutablePointer<Float>?>.allocate(capacity: 4)
                    defer { rows.deallocate() }
                    for i in 0..<4 { rows[i] = outputs + i * c }
                    k.winogradOutput(products, stride: stride, bias: bias, outputs: rows, tall: tall, channels: c)
                    return (input, gradient, Array(UnsafeBufferPointer(start: outputs, count: 4 * c)))
                }
                let a = transforms(other), b = transforms(baseline)
                let shape = "\(c) channels, kernel height \(tall ? 3 : 2)"
                assertSameBits(a.input, b.input, "\(variant) Winograd input transform, \(shape)")
                assertSameBits(a.gradient, b.gradient, "\(variant) Winograd gradient transform, \(shape)")
                assertSameBits(a.output, b.output, "\(variant) Winograd output transform, \(shape)")
            }
        }
    }

    func testAVX2ElementwiseMatchesBaseline() throws { try checkElementwise(.avx2) }
    func testAVX2GateMatchesBaseline() throws { try checkGate(.avx2) }
    func testAVX2WinogradTransformsMatchBaseline() throws { try checkWinograd(.avx2) }
    func testAVX512ElementwiseMatchesBaseline() throws { try checkElementwise(.avx512) }
    func testAVX512GateMatchesBaseline() throws { try checkGate(.avx512) }
    func testAVX512WinogradTransformsMatchBaseline() throws { try checkWinograd(.avx512) }

    /// The baseline kernels themselves: the exact values where they are known, so that a wrong kernel in every
    /// variant at once fails too.
    func testBaselineKnownValues() {
        var y = [Float](repeating: 7, count: 4), dx = [Float](repeating: 7, count: 4)
        baseline.reluForward([-1, 0, 2, .nan], &y, count: 4)
        XCTAssertEqual(Array(y.prefix(3)), [0, 0, 2])
        XCTAssertTrue(y[3].isNaN, "NaN passes through ReLU")
        baseline.reluBackward(output: [-1, 0, 2, 3], [5, 5, 5, 5], &dx, count: 4)
        XCTAssertEqual(dx, [0, 0, 5, 5])
        var gates = [Float](repeating: 7, count: 2), out = [Float](repeating: 7, count: 1)
        baseline.gateForward([0, 0], gates: &gates, &out, rows: 1, channels: 1)
        XCTAssertEqual(gates, [0, 0.5])
        XCTAssertEqual(out, [0])
        baseline.gateForward([.nan, 1], gates: &gates, &out, rows: 1, channels: 1)
        XCTAssertTrue(out[0].isNaN, "a NaN input stays NaN through the gate (the clamp must not hide it)")
        var sum: [Float] = [1, 2, 3]
        baseline.add([10, 20, 30], into: &sum, count: 3)
        XCTAssertEqual(sum, [11, 22, 33])
    }

    /// Whole layers under each variant selected process-wide: the Winograd convolution's three passes, the gate
    /// and ReLU through their layers, the im2col scatter (a strided convolution's input gradient) and the bias
    /// gradient, the same bits as under the baseline.
    func testLayersUnderEachVariantMatchBaseline() throws {
        let before = VectorVariant.active
        defer { VectorVariant.select(before) }
        func run(_ variant: VectorVariant) -> [[Float]] {
            VectorVariant.select(variant)
            let store = ParameterStore()
            let k3 = Conv2D(store, name: "k3", inChannels: 13, outChannels: 21, kernelHeight: 3, kernelWidth: 3, padding: Padding(1))
            let strided = Conv2D(
                store, name: "s2", inChannels: 21, outChannels: 10, kernelHeight: 4, kernelWidth: 4, strideY: 2,
                strideX: 2, padding: Padding(1))
            store.materialize(seed: 3)
            store.zeroGradients()
            let x = randomTensor([2, 9, 7, 13], seed: 5)
            let gate = GatedActivation(), relu = Activation(.relu)
            let h = relu.forward(k3.forward(x))
            let y = strided.forward(h)
            let g = gate.forward(Tensor(shape: [1, 1, 5, 42], values: values(5 * 42, seed: 9).map { $0.isFinite ? $0 : 1 }))
            let dy = randomTensor(y.shape, seed: 6)
            let dh = strided.backwardInput(dy)
            strided.backwardParameters(dy)
            let dk3 = relu.backward(dh)
            let dx = k3.backwardInput(dk3)
            k3.backwardParameters(dk3)
            let dg = gate.backward(randomTensor(g.shape, seed: 8))
            let gradients = [k3.weight, k3.bias!, strided.weight, strided.bias!].flatMap {
                Array(UnsafeBufferPointer(start: store.gradient($0), count: $0.count))
            }
            return [h.array, y.array, g.array, dh.array, dx.array, dg.array, gradients]
        }
        let reference = run(.baseline)
        for variant in VectorVariant.allCases where variant != .baseline {
            guard variant.isSupported else { continue }
            for (name, (a, b)) in zip(["ReLU(k3)", "strided", "gate", "dh", "dx", "gate dx", "gradients"], zip(run(variant), reference)) {
                assertSameBits(a, b, "\(variant) \(name)")
            }
        }
        if !VectorVariant.avx2.isSupported { throw XCTSkip("only the baseline runs here: \(VectorVariant.avx2.unsupportedReason!)") }
    }

    func testOrderAndNames() {
        XCTAssertLessThan(VectorVariant.baseline, .avx2)
        XCTAssertLessThan(VectorVariant.avx2, .avx512)
        XCTAssertEqual([VectorVariant.avx512, .baseline, .avx2].min(), .baseline)
        XCTAssertEqual(VectorVariant.allCases.map(\.description), ["baseline", "avx2", "avx512"])
        XCTAssertTrue(VectorVariant.baseline.isSupported)
        XCTAssertTrue(VectorVariant.best.isSupported)
        XCTAssertTrue(VectorVariant.allCases.filter { $0 > .best }.allSatisfy { !$0.isSupported })
    }

    func testEnvironmentForcesOrRefusesAVariant() throws {
        let name = VectorVariant.environmentVariable
        XCTAssertEqual(try VectorVariant.requested(environment: [:]), .best)
        XCTAssertEqual(try VectorVariant.requested(environment: [name: ""]), .best)
        for variant in VectorVariant.allCases where variant.isSupported {
            XCTAssertEqual(try VectorVariant.requested(environment: [name: variant.rawValue]), variant)
        }
        XCTAssertThrowsError(try VectorVariant.requested(environment: [name: "sse4"])) { error in
            XCTAssertTrue("\(error)".contains("sse4 names no vector variant; use one of baseline, avx2, avx512"), "\(error)")
        }
        guard let lacking = VectorVariant.allCases.first(where: { !$0.isSupported }) else {
            throw XCTSkip("this machine runs every variant, so none can be refused")
        }
        XCTAssertThrowsError(try VectorVariant.requested(environment: [name: lacking.rawValue])) { error in
            XCTAssertTrue("\(error)".contains("cannot run it: \(lacking.unsupportedReason!)"), "\(error)")
        }
    }
}
