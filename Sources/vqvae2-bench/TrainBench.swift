import ArgumentParser
import CSgemmClock
import Coordination
import DataPipeline
import Foundation
import MPI
import Model
import Numerics
import Training

#if canImport(Glibc)
import Glibc
#endif

/// `vqvae2-bench train`: images/s of full training steps (VQ-VAE, top prior, bottom prior, joint) on 1 or N ranks.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Images/s, effective GFLOP/s, sgemm share and peak memory of full training steps.",
        discussion: """
            Every part runs the trainer's own TrainingStep. Parts: vqvae (forward, backward, Adam, EMA update, \
            restarts: the vqvae schedule), top and bottom (that prior alone on random codes: forward, \
            cross-entropy, backward, gradient all-reduce, Adam), joint (the joint schedule: the VQ-VAE step plus \
            both priors on its codes). The benchmark configuration (docs/PERFORMANCE.md), unless --config names an \
            experiment: C=128, residual 32, K=512, D=64; priors PriorConfig.small. --batch is per rank. Under mpirun (--mpi) the collectives are \
            MPI's and the global batch is batch x ranks; without it a single-rank collective. Run each part in \
            its own process so that the peak resident memory is that part's. The vector kernels run the \
            variant the trainer would (the lowest of the ranks'; VQVAE2_VECTOR_VARIANT=baseline|avx2|avx512 \
            forces one), printed in the header and as vector= in RESULT. step_cpu_ms is the median step in the stepping \
            thread's CPU time (rank 0's), steadier than step_ms on a shared machine. Lines starting "RESULT" are for \
            scripts.
            """)

    @Option(help: "Which step: vqvae, top, bottom or joint.")
    var part = "vqvae"

    @Option(help: "Image side in pixels (the priors run on its /8 and /4 code maps).")
    var size = 64

    @Option(help: """
        An experiment config (configs/*.yaml) whose VQ-VAE and priors to time, at its image_size, instead of the \
        benchmark configuration; --size is then not used, and neither are the config's batch, schedule or threads.
        """)
    var config: String?

    @Option(help: "Classes of the priors' class tables (the data's classes; ImageNet has 1000).")
    var classes = 10

    @Option(help: "true or false: train.recompute_gated_layers for this run (default: the config's, or false).")
    var recomputeGatedLayers: Bool?

    @Option(help: "Images per rank per step.")
    var batch = 32

    @Option(help: "Untimed steps first (the first VQ-VAE step also initialises the codebooks).")
    var warmup = 2

    @Option(help: "Timed steps (the median is reported).")
    var repeats = 7

    @Flag(help: "With --mpi: wait for every gradient all-reduce after the backward instead of starting each model's as soon as its backward ends.")
    var noOverlap = false

    @Flag(help: "Initialise MPI and reduce over its ranks (run under launch/mpirun.sh).")
    var mpi = false

    @Flag(help: """
        Also time, during extra steps (single rank), the sgemm calls and the matrix work as a whole (convolution \
        layers with their gathers and transforms, and sgemm elsewhere): report the shares outside each, the \
        second being the element-wise work.
        """)
    var sgemmShare = false

    @Flag(help: "Also measure OpenBLAS sgemm in this process (benchmarks/fma_peak.c measures the FMA peak).")
    var peaks = false

    @Option(help: "Threads per rank (distributed.threads_per_rank): the rank's pool for its loops and its matrix products in pieces, OpenBLAS at one thread.")
    var threads = 1

    @Option(help: """
        For comparison only: OpenBLAS's own threads instead of the pool (which then stays at one thread). Their \
        results change with their number, which is why training does not use them.
        """)
    var blasThreads = 1

    @Option(help: "Scratch folder for the demo image shards (created; deleted afterwards).")
    var work = "/tmp/vqvae2-bench-train"

    func run() throws {
        guard ["vqvae", "top", "bottom", "joint"].contains(part) else {
            throw ValidationError("--part must be vqvae, top, bottom or joint, not \(part)")
        }
        guard classes >= 1 else { throw ValidationError("--classes must be at least 1") }
        guard threads >= 1, blasThreads >= 1, threads == 1 || blasThreads == 1 else {
            throw ValidationError("--threads and --blas-threads must be at least 1, and one of them 1")
        }
        guard !sgemmShare || threads * blasThreads == 1 else {
            throw ValidationError("--sgemm-share times the calls of one thread: use it with --threads 1 --blas-threads 1")
        }
        ThreadPool.shared.configure(threads: threads)
        BLAS.setThreadCount(blasThreads)
        let runtime = mpi ? try MPIRuntime() : nil
        let coordinator = Coordinator(runtime?.world ?? SingleRank())
        let rank = coordinator.rank, ranks = coordinator.worldSize
        let isRoot = coordinator.isRoot
        // The training start-up's choice (TrainingRun): the lowest variant of the ranks.
        let vector = try coordinator.vectorVariants().min() ?? .baseline
        VectorVariant.select(vector)

        var config = try experiment()
        config.train.globalBatch = batch * ranks
        config.train.microBatches = 1
        config.train.recomputeGatedLayers = recomputeGatedLayers ?? config.train.recomputeGatedLayers
        // As the training start-up (TrainingRun) sets it.
        Tensor.mapLargeBuffers(config.train.recomputeGatedLayers)
        config.train.schedule = part == "joint" ? .joint : part == "vqvae" ? .vqvae : .priors
        let size = config.model.imageSize
        let replica = try Replica(config: config, classes: classes)
        if isRoot {
            print("parameters: VQ-VAE \(replica.stores.vqvae.count), top prior \(replica.stores.topPrior.count), "
                  + "bottom prior \(replica.stores.bottomPrior.count)")
            print("OpenBLAS \(BLAS.coreName) (\(BLAS.parallelMode.name) build), \(BLAS.threadCount) thread(s); "
                  + "pool \(ThreadPool.shared.threadCount) thread(s) per rank; \(ranks) rank(s); vector variant \(vector) "
                  + "(best here \(VectorVariant.best); \(VectorVariant.environmentVariable) forces one)")
            let checks = [32, 64, 256].map { "\($0)x\($0) \(fmt(FlopCount.forwardMACs(FlopCount.vqvae(size: $0)) / 1e6, 1)) M" }
            print("VQ-VAE forward multiply-adds per image: " + checks.joined(separator: ", ")
                  + " (docs/MODEL.md's check figures: 61.5 M, 245.9 M, 3.93 G)")
        }

        // Unique per process, so that concurrent runs on a shared machine do not share files; the loader stops
        // (second defer, run first) before its files go.
        let scratch = "\(work)/pid\(getpid())-rank\(rank)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var loader: BatchLoader?
        defer { loader?.stop() }
        let prior: ModelPart? = part == "top" ? .topPrior : part == "bottom" ? .bottomPrior : nil
        let reduced = prior.map { [replica.stores[$0]] } ?? (part == "vqvae" ? [replica.stores.vqvae] : replica.stores.all)
        let reducer = GradientReducer(
            collective: coordinator.collective, stores: reduced,
            bucketBytes: Int(config.distributed.bucketMegabytes * 1_048_576), overlap: !noOverlap)
        try coordinator.broadcastFromRoot(replica.initialParameters)
        let trainingStep = TrainingStep(
            replica: replica, coordinator: coordinator, reducer: reducer, parts: prior.map { [$0] })
        let codes = prior == nil ? nil : randomCodes(rank: rank, size: size, codebookSize: config.model.codebookSize)
        if codes == nil { loader = try demoLoader(directory: scratch, size: size, rank: rank, ranks: ranks) }
        let step = { () throws -> (seconds: Double, exposed: Double, cpu: Double) in
            guard let batch = try codes ?? loader!.next() else { throw ValidationError("the loader ended") }
            let start = sgemm_clock_now(), cpuStart = threadCPUSeconds()
            let metrics = try trainingStep.run(batch)
            return (sgemm_clock_now() - start, metrics.exposedCommunication, threadCPUSeconds() - cpuStart)
        }

        for _ in 0..<warmup { _ = try step() }
        var seconds: [Double] = [], exposed: [Double] = [], cpu: [Double] = []
        for _ in 0..<repeats {
            let (s, e, c) = try step()
            seconds.append(s)
            exposed.append(e)
            cpu.append(c)
        }
        // The slowest rank sets the pace: each rank's median step, maximum over ranks.
        let local = median(seconds)
        let slowest = try coordinator.maximum(local)

        var share = Double.nan, elementwise = Double.nan
        if sgemmShare && ranks == 1 {
            var shares: [Double] = [], elementwiseShares: [Double] = []
            let observer = MatrixWorkObserver()
            for store in replica.stores.all { store.passObserver = observer }
            sgemm_clock_enable(1)
            for _ in 0..<repeats {
                sgemm_clock_reset()
                let (s, _, _) = try step()
                shares.append(1 - sgemm_clock_sgemm_seconds() / s)
                elementwiseShares.append(1 - sgemm_clock_matrix_seconds() / s)
            }
            sgemm_clock_enable(0)
            for store in replica.stores.all { store.passObserver = nil }
            share = median(shares)
            elementwise = median(elementwiseShares)
        }

        let images = Double(batch * ranks)
        let flops = FlopCount.trainingStep(part: part, config: config)
        let rate = images / slowest
        let gflops = rate * flops / 1e9 / Double(ranks)
        let memory = peakResidentMegabytes()
        let memories = try coordinator.maximum(memory)
        if isRoot {
            var fields = [
                "part=\(part)", "config=\(self.config ?? "benchmark")", "size=\(size)",
                "recompute=\(config.train.recomputeGatedLayers)", "batch=\(batch)", "ranks=\(ranks)", "threads=\(threads)",
                "blas_threads=\(blasThreads)",
                "images_per_s=\(fmt(rate, 2))", "step_ms=\(fmt(slowest * 1e3, 1))",
                "gflop_per_image=\(fmt(flops / 1e9, 3))", "gflops_per_rank=\(fmt(gflops, 1))",
                "peak_rss_mb=\(fmt(memories, 0))", "state_mb=\(fmt(stateMegabytes(replica), 0))",
                "gradient_bytes=\(reducer.stores.reduce(0) { $0 + $1.count } * 4)",
                "allreduce_calls=\(reducer.buckets.count)", "exposed_comm_ms=\(fmt(median(exposed) * 1e3, 2))",
                "step_cpu_ms=\(fmt(median(cpu) * 1e3, 1))", "vector=\(vector)",
            ]
            if !share.isNaN {
                fields.append("outside_sgemm=\(fmt(share, 3))")
                fields.append("elementwise=\(fmt(elementwise, 3))")
            }
            if peaks {
                fields.append("sgemm_gflops=\(fmt(Peaks.sgemm(m: 1024, n: 1024, k: 1024), 1))")
                fields.append("sgemm_im2col_gflops=\(fmt(Peaks.sgemm(m: 8192, n: 128, k: 1152), 1))")
            }
            print("RESULT " + fields.joined(separator: " "))
        }
    }

    /// The models to time: the config file's, or the benchmark configuration (docs/PERFORMANCE.md): C=128,
    /// residual 32, K=512, D=64 at --size, priors PriorConfig.small.
    private func experiment() throws -> ExperimentConfig {
        if let path = config { return try ExperimentConfig.load(path: path) }
        var config = ExperimentConfig()
        config.model = FlopCount.benchmarkVQVAE
        config.model.imageSize = size
        config.topPrior = PriorConfig.small
        config.bottomPrior = PriorConfig.small
        return config
    }

    /// This rank's slice of a global batch of random codes for a prior-only step (the same every step).
    private func randomCodes(rank: Int, size: Int, codebookSize: Int) -> Batch {
        let side = size / 8
        let random = CounterRandom(seed: 7, keys: [UInt64(rank)])
        let draw = { (count: Int, limit: Int, key: UInt64) in
            (0..<count).map { Int32(random.integer(key << 32 | UInt64($0), below: limit)) }
        }
        return Batch(
            top: draw(batch * side * side, codebookSize, 1), bottom: draw(batch * 4 * side * side, codebookSize, 2),
            labels: draw(batch, classes, 3), firstSample: rank * batch)
    }

    /// Demo JPEGs converted to shards in `directory`, read by the prefetching loader as this rank's slices.
    private func demoLoader(directory: String, size: Int, rank: Int, ranks: Int) throws -> BatchLoader {
        let global = batch * ranks
        let source = directory + "/source", output = directory + "/shards"
        try? FileManager.default.removeItem(atPath: directory)
        try DemoImages.write(
            to: source, classes: min(10, classes), trainPerClass: (global + 9) / 10, validationPerClass: 1, size: size, seed: 1)
        let job = try PrepareJob(options: PrepareOptions(source: source, output: output, imageSize: size, trainShards: 1))
        let outcomes = try job.shards.map { try job.convert($0) }
        try job.manifest(outcomes: outcomes).save(output + "/manifest.json")
        let (_, set) = try ShardSet.open(manifest: output + "/manifest.json", split: "train")
        let sampler = try DistributedSampler(count: set.count, globalBatch: global, rank: rank, worldSize: ranks, seed: 0)
        return BatchLoader(shards: set, schedule: .training(sampler, start: DataPosition(), flip: true))
    }
}

/// Direct-algorithm FLOPs (2 per multiply-add) of the benchmark models, counted layer by layer.
enum FlopCount {
    /// Multiply-adds of one layer's forward per image, and whether its backward also computes an input gradient.
    struct Layer {
        let macs: Double
        let inputGradient: Bool
        /// Nearest-code searches have no backward product.
        let backward: Bool
    }

    static func conv(_ side: Int, _ cin: Int, _ cout: Int, _ kh: Int, _ kw: Int, stride: Int = 1, padding: Int) -> Layer {
        let out = (side + 2 * padding - kh) / stride + 1
        return Layer(macs: Double(out * out * cout * cin * kh * kw), inputGradient: true, backward: true)
    }

    /// ConvTranspose k4 s2 p1 on a side x side input: every input pixel meets k*k*cout weights.
    static func convTranspose(_ side: Int, _ cin: Int, _ cout: Int) -> Layer {
        Layer(macs: Double(side * side * cin * cout * 16), inputGradient: true, backward: true)
    }

    /// The VQ-VAE of docs/MODEL.md on side x side images; by default the benchmark's (C=128, residual 32, two
    /// residual blocks, K=512, D=64).
    static func vqvae(size s: Int, config: VQVAEConfig = benchmarkVQVAE) -> [Layer] {
        let c = config.channels, r = config.residualChannels, d = config.codeDim, k = config.codebookSize
        func residualStack(_ side: Int) -> [Layer] {
            Array(
                repeating: [conv(side, c, r, 3, 3, padding: 1), conv(side, r, c, 1, 1, padding: 0)],
                count: config.residualBlocks
            ).flatMap { $0 }
        }
        var first = conv(s, 3, c / 2, 4, 4, stride: 2, padding: 1)
        first = Layer(macs: first.macs, inputGradient: false, backward: true)
        let distances = { (side: Int) in Layer(macs: Double(side * side * k * d), inputGradient: false, backward: false) }
        var layers = [first, conv(s / 2, c / 2, c, 4, 4, stride: 2, padding: 1), conv(s / 4, c, c, 3, 3, padding: 1)]
        layers += residualStack(s / 4)
        layers += [conv(s / 4, c, c / 2, 4, 4, stride: 2, padding: 1), conv(s / 8, c / 2, c, 3, 3, padding: 1)]
        layers += residualStack(s / 8)
        layers += [conv(s / 8, c, d, 1, 1, padding: 0), distances(s / 8)]
        layers += [conv(s / 8, d, c, 3, 3, padding: 1)] + residualStack(s / 8) + [convTranspose(s / 8, c, d)]
        layers += [conv(s / 4, d + c, d, 1, 1, padding: 0), distances(s / 4), convTranspose(s / 8, d, d)]
        layers += [conv(s / 4, 2 * d, c, 3, 3, padding: 1)] + residualStack(s / 4)
        layers += [convTranspose(s / 4, c, c / 2), convTranspose(s / 2, c / 2, 3)]
        return layers
    }

    /// A gated PixelCNN (GatedPixelCNNLayer, GatedPixelCNN) on an h x w map; `conditioning` adds the bottom
    /// prior's projections and conditioning stack (over the h/2 x w/2 top map), and without it the top prior's
    /// attention layers run (their two T x T products per head count as one layer of 2 T^2 C multiply-adds, whose
    /// backward is twice that).
    static func prior(_ p: PriorConfig, side: Int, conditioning: Bool) -> [Layer] {
        let c = p.channels, r = p.residualUnits, positions = Double(side * side)
        func dense(_ inF: Int, _ outF: Int, at n: Double = positions) -> Layer {
            Layer(macs: n * Double(inF * outF), inputGradient: true, backward: true)
        }
        var layers: [Layer] = []
        for l in 0..<p.layers {
            let k = l == 0 ? p.firstKernel : p.kernel, half = k / 2, reach = l == 0 ? half : half + 1
            let hasVertical = l < p.layers - 1
            layers += [dense(reach * k * c, 2 * c), dense(reach * c, 2 * r), dense(2 * c, 2 * r), dense(r, c)]
            if conditioning {
                layers.append(dense(p.conditioningChannels, 2 * r))
                if hasVertical { layers.append(dense(p.conditioningChannels, 2 * c)) }
            } else if p.attentionEvery > 0 && (l + 1) % p.attentionEvery == 0 {
                layers += [dense(c, 3 * c), dense(c, c), dense(side * side, 2 * c)]
            }
        }
        for i in 0..<p.outputLayers { layers.append(dense(c, i == p.outputLayers - 1 ? p.codebookSize : c)) }
        if conditioning {
            let cc = p.conditioningChannels, topPositions = positions / 4
            for _ in 0..<p.conditioningLayers {
                layers += [dense(9 * cc, cc, at: topPositions), dense(cc, cc, at: topPositions)]
            }
        }
        return layers
    }

    static func forwardMACs(_ layers: [Layer]) -> Double { layers.reduce(0) { $0 + $1.macs } }

    /// FLOPs of forward plus backward (weight gradient, and input gradient where one is needed) per image.
    static func stepFLOPs(_ layers: [Layer]) -> Double {
        2 * layers.reduce(0) { $0 + $1.macs * (1 + ($1.backward ? 1 : 0) + ($1.inputGradient ? 1 : 0)) }
    }

    /// The benchmark's VQ-VAE: the paper's with residual channels 32, as in the popular PyTorch port.
    static var benchmarkVQVAE: VQVAEConfig {
        var config = VQVAEConfig()
        config.residualChannels = 32
        return config
    }

    /// FLOPs of one training step per image of `part` (vqvae, top, bottom or joint) of the experiment's models.
    static func trainingStep(part: String, config: ExperimentConfig) -> Double {
        let size = config.model.imageSize
        let top = stepFLOPs(self.prior(config.topPrior, side: size / 8, conditioning: false))
        let bottom = stepFLOPs(self.prior(config.bottomPrior, side: size / 4, conditioning: true))
        let vq = stepFLOPs(vqvae(size: size, config: config.model))
        switch part {
        case "vqvae": return vq
        case "top": return top
        case "bottom": return bottom
        default: return vq + top + bottom
        }
    }
}

/// Reports the model's convolution passes to the benchmark's clock of matrix work.
final class MatrixWorkObserver: PassObserver {
    func passBegan() { sgemm_clock_pass_began() }
    func passEnded() { sgemm_clock_pass_ended() }
}

/// OpenBLAS's rate on the square and im2col-shaped products, measured in the benchmark's own process.
enum Peaks {
    /// GFLOP/s of OpenBLAS sgemm C[m, n] = A[m, k] B^T (the layers' forward layout), best of 5.
    static func sgemm(m: Int, n: Int, k: Int) -> Double {
        let a = Tensor(shape: [m, k]), b = Tensor(shape: [n, k]), c = Tensor(shape: [m, n])
        for i in 0..<a.count { a.data[i] = Float(i % 17) * 0.01 }
        for i in 0..<b.count { b.data[i] = Float(i % 13) * 0.01 }
        var best = Double.infinity
        for _ in 0..<5 {
            let start = sgemm_clock_now()
            BLAS.sgemm(transB: true, m: m, n: n, k: k, a: a.data, b: b.data, c: c.data)
            best = min(best, sgemm_clock_now() - start)
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }
}

/// MiB of the replica's training state, which every part's process holds whatever it times: each store's
/// parameters, gradients and two Adam moments (4 floats per parameter).
func stateMegabytes(_ replica: Replica) -> Double {
    Double(replica.stores.all.reduce(0) { $0 + $1.count } * 16) / 1_048_576
}

/// This process's peak resident set (VmHWM) in MiB.
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// CPU time of the calling thread, which runs the step (OpenBLAS on one thread included): on a shared machine it
/// leaves out the time other processes held the core, which wall time does not. With --threads above 1 the pool's
/// other threads are not counted.
private func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

func fmt(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
