import Numerics

/// One level's vector quantiser whose codebook is the Laplace-smoothed EMA of the encoder outputs assigned to each
/// code (VQ-VAE, arXiv 1711.00937, appendix A.1), with data-dependent initialisation and dead-code restarts.
///
/// The EMA step is split so that a distributed caller can sum statistics across ranks between its halves:
/// `accumulateStatistics(into:)` adds one micro-batch's LOCAL statistics to a flat buffer laid out as
///
///     [ n_0 ... n_{K-1} | s_0 (D values) ... s_{K-1} (D values) ]      (K + K*D floats, `statisticsCount`)
///
/// (n_i: vectors assigned to code i, s_i: their sum), and `applyUpdate(from:)` takes such a buffer, possibly summed
/// over micro-batches and ranks, and moves N, m and the codebook:
/// N_i <- gamma N_i + (1-gamma) n_i;  m_i <- gamma m_i + (1-gamma) s_i;  e_i = m_i / Ñ_i with
/// Ñ_i = (N_i + eps) / (sum N + K eps) * sum N.
///
/// Start-up: the codebook must be initialised from data (`initialize(from:count:)`) before the first search. Each
/// code i becomes a distinct candidate vector v, with m_i = N_i v so that e_i = m_i / Ñ_i holds from the start and
/// no count is zero. N_i starts at the dead-code threshold, where a restarted code starts: a code has to be used to
/// stay alive, so the codes the encoder abandons in its first steps are restarted at the next restart instead of
/// lingering for hundreds of steps while their counts decay (with a random start, usage was seen to collapse to a few
/// codes early on). With a threshold of 0 (no restarts) N_i is count/K, its share of the batch under uniform use.
///
/// Randomness (which candidate becomes which code) comes from counter-based streams keyed by (seed, level) for the
/// initialisation and (seed, update count, level) for restarts, drawn over positions 0..<count of the candidates
/// the caller supplies. Supplied in global sample order (for example all-gathered over ranks), every rank picks the
/// same vectors whatever the world size.
///
/// State for checkpoints: `codebook` [K, D], `counts` N [K], `sums` m [K, D], `updateCount`, `isInitialized`.
package final class EMAQuantizer {
    package let numCodes: Int
    package let dimension: Int
    /// With `level`, keys the random streams of initialisation and restarts.
    package let seed: UInt64
    package let level: VQVAELevel
    package var decay: Float
    package var epsilon: Float
    /// Codes with N_i below this are dead (`deadCodes()`); restarted codes start with N_i equal to it.
    package var deadCodeThreshold: Float

    /// The codes e [K, D].
    package let codebook: UnsafeMutableBufferPointer<Float>
    /// EMA counts N [K].
    package let counts: UnsafeMutableBufferPointer<Float>
    /// EMA sums m [K, D].
    package let sums: UnsafeMutableBufferPointer<Float>
    /// EMA updates applied so far; restarts key their random stream with it.
    package var updateCount = 0
    /// Whether the codebook holds data (set by `initialize`, or by a caller restoring a checkpoint).
    package var isInitialized = false

    /// Floats in one statistics buffer: K counts then K*D sums.
    package var statisticsCount: Int { numCodes * (1 + dimension) }

    private let quantizer: VectorQuantizer
    /// Chosen candidate rows, gathered before they are written into the codebook.
    private let selected = Tensor(shape: [0])
    private var permutation: [Int32] = []
    private var input: Tensor?
    private var surrogate: StraightThroughSurrogate?

    package init(
        numCodes: Int, dimension: Int, seed: UInt64, level: VQVAELevel, decay: Float, epsilon: Float,
        deadCodeThreshold: Float
    ) {
        precondition(numCodes > 0 && dimension > 0, "codebook of \(numCodes) x \(dimension)")
        self.numCodes = numCodes
        self.dimension = dimension
        self.seed = seed
        self.level = level
        self.decay = decay
        self.epsilon = epsilon
        self.deadCodeThreshold = deadCodeThreshold
        quantizer = VectorQuantizer(numCodes: numCodes, dimension: dimension)
        codebook = .allocate(capacity: numCodes * dimension)
        counts = .allocate(capacity: numCodes)
        sums = .allocate(capacity: numCodes * dimension)
        codebook.initialize(repeating: 0)
        counts.initialize(repeating: 0)
        sums.initialize(repeating: 0)
    }

    deinit {
        codebook.deallocate()
        counts.deallocate()
        sums.deallocate()
    }

    // MARK: Quantisation

    /// The nearest code of every vector of `z` ([..., D]); the result is owned by the quantiser. `z` must stay
    /// unchanged until `backward` and `accumulateStatistics`.
    package func forward(_ z: Tensor) -> Tensor {
        precondition(isInitialized, "level \(level) codebook used before initialize(from:count:)")
        input = z
        if let surrogate { return surrogate.forward(z) }
        return quantizer.forward(z, codebook: codebook.baseAddress!)
    }

    /// Nearest codes of `z` without keeping anything for backward.
    package func search(_ z: Tensor) -> [Int32] {
        precondition(isInitialized, "level \(level) codebook used before initialize(from:count:)")
        return quantizer.search(z, codebook: codebook.baseAddress!)
    }

    /// The codes chosen by the last forward or search.
    package var indices: [Int32] { quantizer.indices }

    /// Writes the codes of `indices` into `output`, shaped `shape` + [D].
    package func lookup(_ indices: [Int32], shape: [Int], into output: Tensor) {
        for index in indices {
            precondition(index >= 0 && Int(index) < numCodes, "code \(index) outside 0..<\(numCodes)")
        }
        VectorQuantizer.gather(
            codebook: codebook.baseAddress!, dimension: dimension, indices: indices, shape: shape, into: output)
    }

    /// mean((sg[e] - z)^2) of the last forward.
    package func commitmentLoss() -> Float { surrogate?.commitmentLoss() ?? quantizer.commitmentLoss() }

    /// dL/dz: `dQuantized` passed straight through plus `beta` times the commitment loss's gradient.
    package func backward(_ dQuantized: Tensor, commitment beta: Float) -> Tensor {
        if let surrogate { return surrogate.backward(dQuantized, commitment: beta) }
        return quantizer.backward(dQuantized, commitment: beta)
    }

    // MARK: EMA statistics and update

    /// Adds the last forward's statistics (layout in the type's documentation) to `target`, vector by vector; a
    /// caller accumulating micro-batches wraps this in a `MicroBatchSum` so that each is summed from zero.
    package func accumulateStatistics(into target: UnsafeMutablePointer<Float>) {
        guard let z = input else { preconditionFailure("statistics before forward") }
        let k = numCodes, d = dimension, chosen = quantizer.indices
        precondition(chosen.count * d == z.count, "statistics of a search that was not the last forward")
        let sums = target + k, vectors = z.data
        // Split over the vector's components, each summed over the rows in row order as on one thread; the
        // thread with the first component also counts.
        chosen.withUnsafeBufferPointer { chosen in
            ThreadPool.shared.forEachRange(count: d, grain: 16) { components, _ in
                for r in 0..<chosen.count {
                    let code = Int(chosen[r])
                    if components.lowerBound == 0 { target[code] += 1 }
                    let s = sums + code * d, v = vectors + r * d
                    for j in components { s[j] += v[j] }
                }
            }
        }
    }

    /// Moves N, m and the codebook by statistics summed over the step's micro-batches and ranks.
    package func applyUpdate(from statistics: UnsafePointer<Float>) {
        precondition(isInitialized, "level \(level) EMA update before initialize(from:count:)")
        let k = numCodes, d = dimension, keep = decay, take = 1 - decay
        let n = counts.baseAddress!, m = sums.baseAddress!, e = codebook.baseAddress!, batchSums = statistics + k
        for i in 0..<k { n[i] = keep * n[i] + take * statistics[i] }
        for j in 0..<(k * d) { m[j] = keep * m[j] + take * batchSums[j] }
        var total = 0.0
        for i in 0..<k { total += Double(n[i]) }
        precondition(total > 0, "level \(level): every EMA count is zero")
        let eps = Double(epsilon), scale = total / (total + Double(k) * eps)
        for i in 0..<k {
            let smoothed = Float((Double(n[i]) + eps) * scale)
            for j in 0..<d { e[i * d + j] = m[i * d + j] / smoothed }
        }
        updateCount += 1
    }

    /// Usage of the batch whose statistics are given, and of the EMA counts.
    package func usage(from statistics: UnsafePointer<Float>) -> CodebookUsage {
        CodebookUsage.measure(
            batchCounts: statistics, emaCounts: counts.baseAddress!, numCodes: numCodes, threshold: deadCodeThreshold)
    }

    // MARK: Initialisation

    /// The candidate position (in 0..<candidateCount) that becomes code i, for every i: distinct while
    /// candidateCount >= K. A caller that cannot afford to gather every candidate fetches just these.
    package func initializationPositions(candidateCount: Int) -> [Int] {
        choosePositions(numCodes, among: candidateCount, purpose: .codebookInitialization, keys: [level.streamKey])
    }

    /// Initialises from `selected` (K rows: the candidates at `initializationPositions`, in that order), taken from
    /// a batch of `candidateCount` vectors.
    package func initialize(selected: UnsafePointer<Float>, candidateCount: Int) {
        let k = numCodes, d = dimension
        let share = deadCodeThreshold > 0 ? deadCodeThreshold : Float(candidateCount) / Float(k)
        codebook.baseAddress!.update(from: selected, count: k * d)
        counts.update(repeating: share)
        for j in 0..<(k * d) { sums[j] = share * selected[j] }
        updateCount = 0
        isInitialized = true
    }

    /// Initialises the codebook from `count` candidate vectors ([count, D], e.g. the encoder outputs of the first
    /// global batch in global sample order).
    package func initialize(from candidates: UnsafePointer<Float>, count: Int) {
        gather(candidates, at: initializationPositions(candidateCount: count))
        initialize(selected: selected.data, candidateCount: count)
    }

    // MARK: Dead-code restarts

    /// Codes whose EMA count is below the threshold, in increasing order.
    package func deadCodes() -> [Int] { (0..<numCodes).filter { counts[$0] < deadCodeThreshold } }

    /// The dead codes and, for each, the candidate position (in 0..<candidateCount) that replaces it, keyed by
    /// the update count so that every rank agrees after the same updates.
    package func restartPositions(candidateCount: Int) -> (codes: [Int], positions: [Int]) {
        let dead = deadCodes()
        let positions = choosePositions(
            dead.count, among: candidateCount, purpose: .codeRestart, keys: [UInt64(updateCount), level.streamKey])
        return (dead, positions)
    }

    /// Sets code `codes[r]` to row r of `selected`, with N at the threshold and m = N e so that it is not dead
    /// again until it goes unused.
    package func restart(codes: [Int], selected: UnsafePointer<Float>) {
        let d = dimension, count = deadCodeThreshold
        for (r, code) in codes.enumerated() {
            let v = selected + r * d, e = codebook.baseAddress! + code * d, m = sums.baseAddress! + code * d
            for j in 0..<d {
                e[j] = v[j]
                m[j] = count * v[j]
            }
            counts[code] = count
        }
    }

    /// Restarts every dead code from `count` candidate vectors ([count, D], the current batch's encoder outputs in
    /// global sample order); returns how many were restarted.
    @discardableResult
    package func restartDeadCodes(from candidates: UnsafePointer<Float>, count: Int) -> Int {
        let (codes, positions) = restartPositions(candidateCount: count)
        guard !codes.isEmpty else { return 0 }
        gather(candidates, at: positions)
        restart(codes: codes, selected: selected.data)
        return codes.count
    }

    // MARK: Helpers

    /// `picks` positions in 0..<count from a partial Fisher-Yates shuffle of the stream keyed by `keys`: distinct
    /// while picks <= count, then cycling through the shuffle again.
    private func choosePositions(_ picks: Int, among count: Int, purpose: RandomPurpose, keys: [UInt64]) -> [Int] {
        precondition(count > 0, "no candidate vectors for the \(level.name) level")
        let random = CounterRandom(seed: seed, purpose: purpose, keys: keys)
        let distinct = min(picks, count)
        permutation.removeAll(keepingCapacity: true)
        permutation.append(contentsOf: (0..<count).lazy.map { Int32($0) })
        for i in 0..<distinct {
            let j = i + random.integer(UInt64(i), below: count - i)
            permutation.swapAt(i, j)
        }
        return (0..<picks).map { Int(permutation[$0 % distinct]) }
    }

    private func gather(_ candidates: UnsafePointer<Float>, at positions: [Int]) {
        let d = dimension
        selected.resize([positions.count, d])
        for (r, p) in positions.enumerated() { (selected.data + r * d).update(from: candidates + p * d, count: d) }
    }

    // MARK: Straight-through surrogate

    /// Freezes the last forward's codes e0 and offsets e0 - z0: later forwards return z + (e0 - z0) and measure
    /// commitment against e0, a differentiable function of z whose true gradient is the straight-through estimate,
    /// so that finite differences can check it.
    func freezeAssignments() {
        guard let z = input else { preconditionFailure("freeze before forward") }
        surrogate = StraightThroughSurrogate(z: z, codes: quantizer.quantized)
    }
}

/// The straight-through surrogate of a quantiser with frozen assignments (see `EMAQuantizer.freezeAssignments`).
private final class StraightThroughSurrogate {
    private let codes = Tensor(shape: [0])
    private let offsets = Tensor(shape: [0])
    private let output = Tensor(shape: [0])
    private let inputGradient = Tensor(shape: [0])
    private var input: Tensor?

    init(z: Tensor, codes e: Tensor) {
        codes.copy(from: e)
        offsets.resize(like: e)
        for i in 0..<e.count { offsets.data[i] = e.data[i] - z.data[i] }
    }

    func forward(_ z: Tensor) -> Tensor {
        precondition(z.shape == codes.shape, "surrogate of \(codes.shape) applied to \(z.shape)")
        input = z
        output.resize(like: z)
        for i in 0..<z.count { output.data[i] = z.data[i] + offsets.data[i] }
        return output
    }

    func commitmentLoss() -> Float {
        guard let z = input else { preconditionFailure("commitment loss before forward") }
        var sum = 0.0
        for i in 0..<z.count {
            let diff = z.data[i] - codes.data[i]
            sum += Double(diff * diff)
        }
        return Float(sum / Double(max(z.count, 1)))
    }

    func backward(_ dQuantized: Tensor, commitment beta: Float) -> Tensor {
        guard let z = input else { preconditionFailure("backward before forward") }
        inputGradient.resize(like: z)
        let scale = 2 * beta / Float(max(z.count, 1))
        for i in 0..<z.count { inputGradient.data[i] = dQuantized.data[i] + scale * (z.data[i] - codes.data[i]) }
        return inputGradient
    }
}
