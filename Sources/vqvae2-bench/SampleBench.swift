import ArgumentParser
import Coordination
import Evaluation
import Foundation
import MPI
import Model
import Numerics
import Training

/// `vqvae2-bench sample`: samples/s, s/sample and peak memory of class-conditional sampling, end to end.
struct SampleBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Samples/s, s/sample and peak memory of sampling: top codes, bottom codes and decoding.",
        discussion: """
            Random weights (the cost does not depend on them). --priors demo is configs/demo.yaml's (64 channels, \
            10 layers, attention after every 5 in the top prior), paper is PriorConfig.paperTop/paperBottom (512 \
            channels, 20 layers, 1000 classes), small is PriorConfig.small. The VQ-VAE is the benchmark's (C=128, \
            residual 32, K=512, D=64) except with --priors paper (the paper's: residual 64). Samplers: \
            incremental (what vqvae2 uses: every layer's output once per position, shared over ranks with --mpi) \
            and recompute (the sampler before it, kept as the baseline). --rows R times only the first R rows of \
            each map, fits each map's per-row time as a polynomial in r + 1 (the recompute sampler's row r runs the \
            network on r + 1 rows: linear in the convolutions, quadratic in attention) and extrapolates to the whole map: such results say extrapolated=yes. Lines starting "RESULT" are \
            for scripts.
            """)

    @Option(help: "Image side in pixels (top map /8, bottom map /4).")
    var size = 64

    @Option(help: "Priors: demo, small or paper.")
    var priors = "demo"

    @Option(help: "Sampler: incremental or recompute.")
    var sampler = "incremental"

    @Option(help: "Samples drawn together per rank.")
    var batch = 8

    @Option(help: "Batches to draw (in all ranks together).")
    var batches = 1

    @Option(help: "Time only the first R rows of each map and extrapolate (recompute sampler; 0: the whole maps).")
    var rows = 0

    @Flag(help: "Initialise MPI and share the batches over its ranks (run under launch/mpirun.sh).")
    var mpi = false

    func validate() throws {
        guard ["demo", "small", "paper"].contains(priors) else { throw ValidationError("--priors: demo, small or paper") }
        guard ["incremental", "recompute"].contains(sampler) else {
            throw ValidationError("--sampler: incremental or recompute")
        }
        guard size % 8 == 0, size > 0, batch > 0, batches > 0, rows >= 0 else {
            throw ValidationError("--size must be a multiple of 8; --batch and --batches positive; --rows >= 0")
        }
        guard rows == 0 || sampler == "recompute" else { throw ValidationError("--rows is for the recompute sampler") }
        guard !mpi || sampler == "incremental" else { throw ValidationError("--mpi shares the incremental sampler's batches") }
    }

    func run() throws {
        let runtime = mpi ? try MPIRuntime() : nil
        let coordinator = Coordinator(runtime?.world ?? SingleRank())
        var vqvaeConfig = VQVAEConfig()
        vqvaeConfig.imageSize = size
        var top: PriorConfig, bottom: PriorConfig
        switch priors {
        case "paper":
            (top, bottom) = (PriorConfig.paperTop, PriorConfig.paperBottom)
        case "small":
            (top, bottom) = (PriorConfig.small, PriorConfig.small)
            vqvaeConfig.residualChannels = 32
        default:
            top = PriorConfig(
                codebookSize: 512, classes: 10, channels: 64, layers: 10, firstKernel: 7, kernel: 3, attentionEvery: 5,
                heads: 4, dropout: 0.1, outputLayers: 2, conditioningLayers: 0, conditioningChannels: 64)
            bottom = top
            bottom.attentionEvery = 0
            bottom.conditioningLayers = 2
            vqvaeConfig.residualChannels = 32
        }
        let stores = (vqvae: ParameterStore(), top: ParameterStore(), bottom: ParameterStore())
        let vqvae = try VQVAE(stores.vqvae, config: vqvaeConfig)
        let topPrior = TopPrior(stores.top, name: "top_prior", config: top, height: size / 8, width: size / 8)
        let bottomPrior = BottomPrior(stores.bottom, name: "bottom_prior", config: bottom, height: size / 4, width: size / 4)
        for (i, store) in [stores.vqvae, stores.top, stores.bottom].enumerated() { store.materialize(seed: UInt64(i)) }
        // Codebooks from random vectors: decoding needs them initialised, and their values do not matter here.
        for quantizer in [vqvae.top, vqvae.bottom] {
            let random = CounterRandom(seed: 3, keys: [quantizer.level.streamKey])
            let vectors = (0..<(quantizer.numCodes * quantizer.dimension)).map { random.normal(UInt64($0)) }
            vectors.withUnsafeBufferPointer { quantizer.initialize(from: $0.baseAddress!, count: quantizer.numCodes) }
        }
        if coordinator.isRoot {
            print("parameters: VQ-VAE \(stores.vqvae.count), top prior \(stores.top.count), bottom prior \(stores.bottom.count); "
                + "maps \(size / 8)x\(size / 8) and \(size / 4)x\(size / 4); OpenBLAS \(BLAS.coreName)")
        }
        let classes = (0..<min(top.classes, 10)).map { Int32($0) }
        let count = batch * batches * coordinator.worldSize
        let labels = (0..<count).map { classes[$0 % classes.count] }

        let start = Date()
        var extrapolated = false
        var seconds: Double
        if sampler == "incremental" {
            let grid = SampleGrid(classes: [labels[0]], perClass: count, temperature: 1, seed: 1, batch: batch)
            _ = try GridSampling(coordinator: coordinator).draw(grid, vqvae: vqvae, top: topPrior, bottom: bottomPrior)
            seconds = try coordinator.maximum(Date().timeIntervalSince(start))
        } else {
            if rows > 0 {
                // An untimed row first: the first rows of a cold process also pay for allocations.
                _ = RecomputingSampler.sample(
                    top: topPrior, bottom: bottomPrior, labels: Array(labels[0..<batch]), temperature: 1, seed: 1,
                    rows: 1)
            }
            var rowTimes: [VQVAELevel: [Double]] = [.top: [], .bottom: []]
            var last = Date()
            var totalRows = 0.0
            for b in 0..<batches {
                let codes = RecomputingSampler.sample(
                    top: topPrior, bottom: bottomPrior, labels: Array(labels[(b * batch)..<((b + 1) * batch)]),
                    temperature: 1, seed: 1, rows: rows == 0 ? nil : rows
                ) { level, _ in
                    let now = Date()
                    rowTimes[level]!.append(now.timeIntervalSince(last))
                    last = now
                }
                let decodeStart = Date()
                _ = vqvae.decode(top: codes.top, bottom: codes.bottom)
                totalRows += Date().timeIntervalSince(decodeStart)
                last = Date()
            }
            if rows == 0 {
                seconds = Date().timeIntervalSince(start)
            } else {
                extrapolated = true
                seconds = totalRows
                for (level, height) in [(VQVAELevel.top, size / 8), (.bottom, size / 4)] {
                    seconds += Self.extrapolate(rowTimes[level]!, rowsPerBatch: rows, batches: batches, height: height)
                }
            }
        }
        guard coordinator.isRoot else { return }
        print(String(
            format: "RESULT sampler=%@ size=%d priors=%@ batch=%d ranks=%d samples=%d samples_per_s=%.6g s_per_sample=%.6g peak_rss_mb=%.0f extrapolated=%@",
            sampler, size, priors, batch, coordinator.worldSize, count, Double(count) / seconds,
            seconds / Double(count), peakResidentMegabytes(), extrapolated ? "yes" : "no"))
    }

    /// The whole map's sampling time from the first rows' times (each batch's rows in turn): the per-row means
    /// fitted by a + b x + c x^2 in x = r + 1 (row r runs the network on r + 1 rows: linear in the convolutions,
    /// quadratic in attention), exactly through three rows, by least squares through more, a line through two;
    /// summed over the map's rows, times the batches.
    static func extrapolate(_ times: [Double], rowsPerBatch: Int, batches: Int, height: Int) -> Double {
        var means = [Double](repeating: 0, count: rowsPerBatch)
        for (i, t) in times.enumerated() { means[i % rowsPerBatch] += t / Double(batches) }
        let degree = min(rowsPerBatch - 1, 2)
        let xs = (0..<rowsPerBatch).map { Double($0 + 1) }
        // Normal equations of the polynomial fit, solved by Gaussian elimination (at most 3x3).
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: degree + 2), count: degree + 1)
        for (x, y) in zip(xs, means) {
            for i in 0...degree {
                for j in 0...degree { matrix[i][j] += Foundation.pow(x, Double(i + j)) }
                matrix[i][degree + 1] += y * Foundation.pow(x, Double(i))
            }
        }
        for i in 0...degree {
            for k in (i + 1)..<(degree + 1) where degree > i {
                let f = matrix[k][i] / matrix[i][i]
                for j in i...(degree + 1) { matrix[k][j] -= f * matrix[i][j] }
            }
        }
        var coefficients = [Double](repeating: 0, count: degree + 1)
        for i in stride(from: degree, through: 0, by: -1) {
            var v = matrix[i][degree + 1]
            for j in (i + 1)..<(degree + 1) where degree > i { v -= matrix[i][j] * coefficients[j] }
            coefficients[i] = v / matrix[i][i]
        }
        var perMap = 0.0
        for r in 0..<height {
            for (power, coefficient) in coefficients.enumerated() {
                perMap += coefficient * Foundation.pow(Double(r + 1), Double(power))
            }
        }
        return perMap * Double(batches)
    }
}
