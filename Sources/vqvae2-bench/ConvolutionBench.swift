import ArgumentParser
import Foundation
import Numerics

/// `vqvae2-bench conv`: every convolution of the 64x64 VQ-VAE and the priors' vertical convolutions, forward and
/// both gradients, against sgemm.
struct ConvolutionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "Convolution speed on the VQ-VAE's and priors' shapes beside sgemm on the im2col product's M, N, K.",
        discussion: """
            For a convolution, M = N*Ho*Wo output positions, N = outC, K = inC*kh*kw, and the passes are the \
            products forward C = A B, input gradient dA = dC B^T and weight gradient dB = A^T dC of the im2col \
            matrix A; for a transposed convolution M = N*Hi*Wi input positions, N = kh*kw*outC, K = inC. \
            GFLOP/s counts 2*M*N*K direct FLOPs over the median time. Run with OPENBLAS_NUM_THREADS=1.
            """)

    @Option(help: "Images per batch.")
    var batch = 32

    @Option(help: "Timed repetitions per measurement (the median is reported).")
    var repeats = 15

    @Option(help: "Only the layers whose name contains this text.")
    var only: String?

    @Flag(help: "Time with the thread's CPU clock instead of the wall clock: steadier when other processes share the cores.")
    var cpuTime = false

    @Flag(help: "Print a Markdown table.")
    var markdown = false

    /// One convolution of the model: kernel kh x kw, stride s, padding, channels in -> out, input height = width.
    struct Shape {
        let name: String
        let transposed: Bool
        let kernelHeight: Int
        let kernelWidth: Int
        let stride: Int
        let padding: Padding
        let inChannels: Int
        let outChannels: Int
        let size: Int

        /// A square kernel with the same padding on every side.
        init(
            name: String, transposed: Bool, kernel: Int, stride: Int, padding: Int, inChannels: Int,
            outChannels: Int, size: Int
        ) {
            self.init(
                name: name, transposed: transposed, kernelHeight: kernel, kernelWidth: kernel, stride: stride,
                padding: Padding(padding), inChannels: inChannels, outChannels: outChannels, size: size)
        }

        /// Any kernel and padding.
        init(
            name: String, transposed: Bool, kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Padding,
            inChannels: Int, outChannels: Int, size: Int
        ) {
            self.name = name
            self.transposed = transposed
            self.kernelHeight = kernelHeight
            self.kernelWidth = kernelWidth
            self.stride = stride
            self.padding = padding
            self.inChannels = inChannels
            self.outChannels = outChannels
            self.size = size
        }
    }

    /// The benchmark VQ-VAE (docs/MODEL.md) at 64x64 with C=128, residual 32, D=64 (repeated shapes listed once), then
    /// the vertical convolutions of its two priors.
    static let shapes: [Shape] = [
        Shape(name: "enc_b.0 k4s2 3->64 @64", transposed: false, kernel: 4, stride: 2, padding: 1, inChannels: 3, outChannels: 64, size: 64),
        Shape(name: "enc_b.2 k4s2 64->128 @32", transposed: false, kernel: 4, stride: 2, padding: 1, inChannels: 64, outChannels: 128, size: 32),
        Shape(name: "enc_b.4 k3 128->128 @16", transposed: false, kernel: 3, stride: 1, padding: 1, inChannels: 128, outChannels: 128, size: 16),
        Shape(name: "res k3 128->32 @16", transposed: false, kernel: 3, stride: 1, padding: 1, inChannels: 128, outChannels: 32, size: 16),
        Shape(name: "res k1 32->128 @16", transposed: false, kernel: 1, stride: 1, padding: 0, inChannels: 32, outChannels: 128, size: 16),
        Shape(name: "enc_t.0 k4s2 128->64 @16", transposed: false, kernel: 4, stride: 2, padding: 1, inChannels: 128, outChannels: 64, size: 16),
        Shape(name: "enc_t.2 k3 64->128 @8", transposed: false, kernel: 3, stride: 1, padding: 1, inChannels: 64, outChannels: 128, size: 8),
        Shape(name: "res k3 128->32 @8", transposed: false, kernel: 3, stride: 1, padding: 1, inChannels: 128, outChannels: 32, size: 8),
        Shape(name: "res k1 32->128 @8", transposed: false, kernel: 1, stride: 1, padding: 0, inChannels: 32, outChannels: 128, size: 8),
        Shape(name: "quant_t k1 128->64 @8", transposed: false, kernel: 1, stride: 1, padding: 0, inChannels: 128, outChannels: 64, size: 8),
        Shape(name: "quant_b k1 192->64 @16", transposed: false, kernel: 1, stride: 1, padding: 0, inChannels: 192, outChannels: 64, size: 16),
        Shape(name: "dec_t.up T k4s2 128->64 @8", transposed: true, kernel: 4, stride: 2, padding: 1, inChannels: 128, outChannels: 64, size: 8),
        Shape(name: "upsample_t T k4s2 64->64 @8", transposed: true, kernel: 4, stride: 2, padding: 1, inChannels: 64, outChannels: 64, size: 8),
        Shape(name: "dec.up1 T k4s2 128->64 @16", transposed: true, kernel: 4, stride: 2, padding: 1, inChannels: 128, outChannels: 64, size: 16),
        Shape(name: "dec.up2 T k4s2 64->3 @32", transposed: true, kernel: 4, stride: 2, padding: 1, inChannels: 64, outChannels: 3, size: 32),
        Shape(
            name: "vconv_b k2x3 128->256 @16", transposed: false, kernelHeight: 2, kernelWidth: 3, stride: 1,
            padding: causal, inChannels: 128, outChannels: 256, size: 16),
        Shape(
            name: "vconv_t k2x3 128->256 @8", transposed: false, kernelHeight: 2, kernelWidth: 3, stride: 1,
            padding: causal, inChannels: 128, outChannels: 256, size: 8),
    ]

    /// The priors' mask-B vertical convolutions (PriorConfig.small, kernel 3): rows r-1 and r, columns c-1 to c+1.
    private static let causal = Padding(top: 1, bottom: 0, left: 1, right: 1)

    /// A layer's three passes as closures, and the GEMM dimensions of its im2col formulation.
    struct Passes {
        let m: Int, n: Int, k: Int
        let forward: () -> Void
        let weightGradient: () -> Void
        let inputGradient: () -> Void
    }

    func run() throws {
        print(
            "OpenBLAS \(BLAS.coreName), \(BLAS.threadCount) thread(s); batch \(batch), median of \(repeats), "
                + (cpuTime ? "thread CPU time" : "wall time"))
        if markdown {
            print("| layer | pass | M | N | K | ms | GFLOP/s | sgemm GFLOP/s | ratio |")
            print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        } else {
            print("layer                          pass    M      N      K        ms   GFLOP/s  sgemm   ratio")
        }
        var totals = (ours: 0.0, sgemm: 0.0)
        for shape in Self.shapes where only.map({ shape.name.contains($0) }) ?? true {
            let store = ParameterStore()
            let passes = makePasses(shape, store)
            let flops = 2.0 * Double(passes.m) * Double(passes.n) * Double(passes.k)
            // Transposition flags as each layer calls sgemm for that pass.
            let t = shape.transposed
            let references: [(String, () -> Void, () -> Void)] = [
                ("fwd", passes.forward, gemm(m: passes.m, n: passes.n, k: passes.k, transA: false, transB: !t)),
                ("dW", passes.weightGradient, gemm(m: passes.k, n: passes.n, k: passes.m, transA: true, transB: false)),
                ("dX", passes.inputGradient, gemm(m: passes.m, n: passes.k, k: passes.n, transA: false, transB: t)),
            ]
            for (pass, ours, reference) in references {
                let (oursTime, gemmTime) = medians(ours, reference)
                totals.ours += oursTime
                totals.sgemm += gemmTime
                let oursRate = flops / oursTime / 1e9, gemmRate = flops / gemmTime / 1e9
                let row = [
                    shape.name, pass, "\(passes.m)", "\(passes.n)", "\(passes.k)",
                    format(oursTime * 1e3, 2), format(oursRate, 1), format(gemmRate, 1), format(oursRate / gemmRate, 2),
                ]
                if markdown {
                    print("| " + row.joined(separator: " | ") + " |")
                } else {
                    let widths = [30, 5, 6, 6, 6, 9, 9, 7, 7]
                    let cells = zip(row, widths).enumerated().map { column, cell in
                        column < 2 ? pad(cell.0, cell.1) : padLeft(cell.0, cell.1)
                    }
                    print(cells.joined(separator: " "))
                }
            }
        }
        print(
            "total over the listed shapes: ours \(format(totals.ours * 1e3, 1)) ms, "
                + "sgemm \(format(totals.sgemm * 1e3, 1)) ms, ratio \(format(totals.sgemm / totals.ours, 3))")
    }

    private func makePasses(_ shape: Shape, _ store: ParameterStore) -> Passes {
        let x = Tensor(shape: [batch, shape.size, shape.size, shape.inChannels])
        fill(x, seed: 1)
        if shape.transposed {
            let layer = ConvTranspose2D(
                store, name: "layer", inChannels: shape.inChannels, outChannels: shape.outChannels,
                kernel: shape.kernelHeight, stride: shape.stride, padding: shape.padding.top)
            store.materialize(seed: 1)
            let dy = Tensor(shape: layer.outputShape(for: x.shape))
            fill(dy, seed: 2)
            _ = layer.forward(x)
            return Passes(
                m: batch * shape.size * shape.size, n: shape.kernelHeight * shape.kernelWidth * shape.outChannels,
                k: shape.inChannels,
                forward: { _ = layer.forward(x) },
                weightGradient: { layer.backwardParameters(dy) },
                inputGradient: { _ = layer.backwardInput(dy) })
        }
        let layer = Conv2D(
            store, name: "layer", inChannels: shape.inChannels, outChannels: shape.outChannels,
            kernelHeight: shape.kernelHeight, kernelWidth: shape.kernelWidth, strideY: shape.stride,
            strideX: shape.stride, padding: shape.padding)
        store.materialize(seed: 1)
        let outputShape = layer.outputShape(for: x.shape)
        let dy = Tensor(shape: outputShape)
        fill(dy, seed: 2)
        _ = layer.forward(x)
        return Passes(
            m: outputShape[0] * outputShape[1] * outputShape[2], n: shape.outChannels,
            k: shape.inChannels * shape.kernelHeight * shape.kernelWidth,
            forward: { _ = layer.forward(x) },
            weightGradient: { layer.backwardParameters(dy) },
            inputGradient: { _ = layer.backwardInput(dy) })
    }

    /// A closure running sgemm C[m, n] = op(A) op(B) on fresh random operands.
    private func gemm(m: Int, n: Int, k: Int, transA: Bool, transB: Bool) -> () -> Void {
        let a = Tensor(shape: [m, k]), b = Tensor(shape: [k, n]), c = Tensor(shape: [m, n])
        fill(a, seed: 3)
        fill(b, seed: 4)
        return {
            BLAS.sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, a: a.data, lda: transA ? m : k, b: b.data,
                ldb: transB ? k : n, c: c.data)
        }
    }

    /// Median seconds of `repeats` calls of each, after a warm-up call; the calls alternate so that both see
    /// the same load on a shared machine.
    private func medians(_ first: () -> Void, _ second: () -> Void) -> (Double, Double) {
        first()
        second()
        var times = ([Double](), [Double]())
        for _ in 0..<repeats {
            var start = now()
            first()
            times.0.append(now() - start)
            start = now()
            second()
            times.1.append(now() - start)
        }
        return (times.0.sorted()[repeats / 2], times.1.sorted()[repeats / 2])
    }

    private func now() -> Double {
        var t = timespec()
        clock_gettime(cpuTime ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    private func fill(_ t: Tensor, seed: UInt64) {
        let random = CounterRandom(seed: seed, keys: [1])
        for i in 0..<t.count { t.data[i] = 2 * random.uniform(UInt64(i)) - 1 }
    }
}

private func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

private func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
private func padLeft(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
