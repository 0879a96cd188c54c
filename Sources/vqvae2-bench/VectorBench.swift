import ArgumentParser
import Foundation
import Numerics

#if canImport(Glibc)
import Glibc
#endif

/// `vqvae2-bench vector`: the layers whose kernels come in vector variants, timed under each variant this machine
/// runs, alternating call by call.
struct VectorBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vector",
        abstract: "Time the layers built on the vector kernels under each vector variant the machine runs.",
        discussion: """
            Gate and ReLU on a prior's and the VQ-VAE's activation shapes (batch 32), and the convolution passes \
            whose Winograd transforms or im2col scatter use the kernels (3x3 128 -> 128 at 16x16, the priors' \
            2x3 128 -> 256 at 16x16, and a 4x4 stride-2 64 -> 128 from 32x32 whose input gradient scatters). \
            Each line is the median of --repeats calls in the thread's CPU time; the variants alternate call by \
            call so that they see the same load. Run with OPENBLAS_NUM_THREADS=1.
            """)

    @Option(help: "Timed calls per variant (the median is reported).")
    var repeats = 21

    func run() throws {
        let variants = VectorVariant.allCases.filter(\.isSupported)
        print("variants here: " + variants.map(\.rawValue).joined(separator: ", ")
              + "; lacking: " + VectorVariant.allCases.filter { !$0.isSupported }
                  .map { "\($0) (\($0.unsupportedReason ?? ""))" }.joined(separator: ", "))
        print("case".padding(toLength: 34, withPad: " ", startingAt: 0)
              + variants.map { "\($0.rawValue) ms".leftPadded(14) }.joined() + "  speed-up over baseline")
        for (name, body) in cases() {
            let times = medians(variants, body)
            let line = name.padding(toLength: 34, withPad: " ", startingAt: 0)
                + times.map { String(format: "%.3f", $0 * 1e3).leftPadded(14) }.joined()
                + "  " + times.dropFirst().map { String(format: "%.2fx", times[0] / $0) }.joined(separator: " ")
            print(line)
        }
    }

    /// The timed calls, by name.
    private func cases() -> [(String, () -> Void)] {
        var list: [(String, () -> Void)] = []
        let gate = GatedActivation()
        let gateInput = filled([32, 16, 16, 256], seed: 1), gateGradient = filled([32, 16, 16, 128], seed: 2)
        _ = gate.forward(gateInput)
        list.append(("gate forward [32,16,16,256]", { _ = gate.forward(gateInput) }))
        list.append(("gate backward [32,16,16,256]", { _ = gate.backward(gateGradient) }))
        let relu = Activation(.relu)
        let reluInput = filled([32, 16, 16, 128], seed: 3), reluGradient = filled([32, 16, 16, 128], seed: 4)
        _ = relu.forward(reluInput)
        list.append(("ReLU forward [32,16,16,128]", { _ = relu.forward(reluInput) }))
        list.append(("ReLU backward [32,16,16,128]", { _ = relu.backward(reluGradient) }))

        let store = ParameterStore()
        let k3 = Conv2D(store, name: "k3", inChannels: 128, outChannels: 128, kernelHeight: 3, kernelWidth: 3, padding: Padding(1))
        let vertical = Conv2D(
            store, name: "vconv", inChannels: 128, outChannels: 256, kernelHeight: 2, kernelWidth: 3,
            padding: Padding(top: 1, bottom: 0, left: 1, right: 1))
        let strided = Conv2D(
            store, name: "k4s2", inChannels: 64, outChannels: 128, kernelHeight: 4, kernelWidth: 4, strideY: 2,
            strideX: 2, padding: Padding(1))
        store.materialize(seed: 5)
        for (name, layer, input, output) in [
            ("k3 128->128 @16", k3, [32, 16, 16, 128], [32, 16, 16, 128]),
            ("vconv k2x3 128->256 @16", vertical, [32, 16, 16, 128], [32, 16, 16, 256]),
            ("k4 s2 64->128 @32", strided, [32, 32, 32, 64], [32, 16, 16, 128]),
        ] {
            let x = filled(input, seed: 6), dy = filled(output, seed: 7)
            _ = layer.forward(x)
            list.append(("\(name) fwd", { _ = layer.forward(x) }))
            list.append(("\(name) dX", { _ = layer.backwardInput(dy) }))
            list.append(("\(name) dW", { layer.backwardParameters(dy) }))
        }
        return list
    }

    /// The median thread CPU seconds of `body` under each variant, the variants taking turns call by call.
    private func medians(_ variants: [VectorVariant], _ body: () -> Void) -> [Double] {
        let before = VectorVariant.active
        defer { VectorVariant.select(before) }
        var times = [[Double]](repeating: [], count: variants.count)
        for round in -1..<repeats {
            for (i, variant) in variants.enumerated() {
                VectorVariant.select(variant)
                let start = cpuSeconds()
                body()
                if round >= 0 { times[i].append(cpuSeconds() - start) }
            }
        }
        return times.map { $0.sorted()[$0.count / 2] }
    }

    private func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    private func filled(_ shape: [Int], seed: UInt64) -> Tensor {
        let t = Tensor(shape: shape), random = CounterRandom(seed: seed, keys: [2])
        for i in 0..<t.count { t.data[i] = 4 * random.uniform(UInt64(i)) - 2 }
        return t
    }
}

extension String {
    /// The string right-aligned in `width` columns.
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
