import Coordination
import Evaluation
import Foundation
import Model

/// Sampling stopped by a stop signal before the grid was complete; nothing of it was written.
package struct SamplingStopped: Error, CustomStringConvertible {
    package var description: String { "sampling stopped by a stop signal; no samples were written" }
}

/// A sample grid drawn by every rank together: the grid's chunks (each exactly `grid.batch` samples) dealt round
/// robin, chunk i to rank i mod W, and gathered to rank 0, which decodes them. A chunk's codes do not depend on
/// which rank draws it, so the grid is the same bits for any number of ranks.
///
/// The ranks agree at every position step whether a stop was requested (one small all-reduce each), so that a
/// stop signal ends sampling within a position step on every rank together; a rank with no chunk left in the last
/// round keeps answering those agreements.
package struct GridSampling {
    package let coordinator: Coordinator
    /// This rank's own stop request (a signal), asked at every position step.
    package var stopRequested: () -> Bool
    /// On rank 0, after every position step: the grid's samples done so far (a fraction while a chunk is in
    /// flight) and in all.
    package var progress: ((_ done: Double, _ total: Int) -> Void)?

    package init(
        coordinator: Coordinator, stopRequested: @escaping () -> Bool = { false },
        progress: ((_ done: Double, _ total: Int) -> Void)? = nil
    ) {
        self.coordinator = coordinator
        self.stopRequested = stopRequested
        self.progress = progress
    }

    /// Draws the grid with the priors and decodes it with `vqvae` (the same on every rank); rank 0 returns the
    /// samples, the others nil. Throws `SamplingStopped` on every rank when any rank asked to stop.
    package func draw(_ grid: SampleGrid, vqvae: VQVAE, top: TopPrior, bottom: BottomPrior) throws -> SampleGrid.Samples? {
        let chunks = grid.chunks, ranks = coordinator.worldSize, rank = coordinator.rank
        let rounds = (chunks.count + ranks - 1) / ranks
        let topArea = top.height * top.width, bottomArea = bottom.height * bottom.width
        let positions = topArea + bottomArea, perChunk = grid.batch * positions
        // Codes travel as floats (exact below 2^24) in the coordinator's gather, chunk by chunk: top then bottom.
        var local = [Float](repeating: 0, count: rounds * perChunk)
        let fault = SamplingFault.fromEnvironment()
        var steps = 0
        for round in 0..<rounds {
            let index = round * ranks + rank
            let step: PriorSampler.PositionStep = { done, _ in
                steps += 1
                fault?.fire(atStep: steps, rank: rank)
                if try coordinator.anyRank(stopRequested()) { throw SamplingStopped() }
                let samples = (Double(round) + Double(done) / Double(positions)) * Double(ranks * grid.batch)
                progress?(min(samples, Double(grid.count)), grid.count)
            }
            guard index < chunks.count else {
                for p in 0..<positions { try step(p + 1, positions) }
                continue
            }
            let codes = try grid.sample(chunks[index], top: top, bottom: bottom, step: step)
            let base = round * perChunk
            for (i, code) in codes.top.enumerated() { local[base + i] = Float(code) }
            for (i, code) in codes.bottom.enumerated() { local[base + grid.batch * topArea + i] = Float(code) }
        }
        let all = try coordinator.gatherRows(local)
        guard coordinator.isRoot else { return nil }
        var topCodes: [Int32] = [], bottomCodes: [Int32] = []
        for (index, chunk) in chunks.enumerated() {
            let base = ((index % ranks) * rounds + index / ranks) * perChunk
            topCodes += all[base..<(base + chunk.count * topArea)].map { Int32($0) }
            let bottomBase = base + grid.batch * topArea
            bottomCodes += all[bottomBase..<(bottomBase + chunk.count * bottomArea)].map { Int32($0) }
        }
        return grid.decode(top: topCodes, bottom: bottomCodes, vqvae: vqvae)
    }
}

/// A stop signal that a test plants in a real sampling job through the environment:
/// `VQVAE2_SAMPLE_FAULT=sigterm:R@P` makes rank R send itself SIGTERM at its P-th position step of a grid, as a
/// scheduler's signal arriving mid-grid would (tiny grids finish too fast to be signalled from outside).
struct SamplingFault {
    let rank: Int
    let step: Int

    static let variable = "VQVAE2_SAMPLE_FAULT"

    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> SamplingFault? {
        guard let value = environment[variable], value.hasPrefix("sigterm:") else { return nil }
        let place = value.dropFirst("sigterm:".count).split(separator: "@")
        guard place.count == 2, let rank = Int(place[0]), let step = Int(place[1]) else { return nil }
        return SamplingFault(rank: rank, step: step)
    }

    func fire(atStep completed: Int, rank: Int) {
        guard rank == self.rank, completed == step else { return }
        FileHandle.standardError.write(Data("rank \(rank): planted SIGTERM at position step \(completed) (\(Self.variable))\n".utf8))
        kill(getpid(), SIGTERM)
    }
}

/// A progress line for long sampling on rank 0: samples done, samples/s and ETA, at most every `every` seconds.
package final class SamplingProgress {
    private let start = Date()
    private var lastPrint: Date
    private let every: Double
    private let out: (String) -> Void
    private let label: String

    package init(label: String, every: Double = 10, output: @escaping (String) -> Void = { print($0) }) {
        self.label = label
        self.every = every
        out = output
        lastPrint = start
    }

    package func update(_ done: Double, _ total: Int) {
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= every, done > 0 else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start), rate = done / elapsed
        out(String(
            format: "%@: %.1f/%d samples, %.2f samples/s, ETA %@", label, done, total, rate,
            formatDuration((Double(total) - done) / rate)))
    }
}
