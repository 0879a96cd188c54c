import Coordination
import Evaluation
import Foundation
import Model
import Numerics

/// Sampling stopped by a stop signal before the grid was complete; nothing of it was written.
package struct SamplingStopped: Error, CustomStringConvertible {
    package var description: String { "sampling stopped by a stop signal; no samples were written" }
}

/// A sample grid drawn by every rank together: the grid's chunks (each exactly `grid.batch` samples) dealt round
/// robin, chunk i to rank i mod W, each drawn and decoded by its rank, and all-gathered (the coordinator's one
/// gather; every rank holds the grid's codes and images for a moment, rank 0 keeps them). A chunk's codes and
/// images do not depend on which rank draws it, so the grid is the same bits for any number of ranks.
///
/// The ranks agree whether a stop was requested (one small all-reduce) every `agreementInterval` position steps:
/// every step when a step is long (the paper's priors), about every 50 ms of work when steps are short, where
/// agreeing at every step held the ranks in lockstep and cost 10% of a 2-rank run at 256 pixels. A stop signal
/// thus ends sampling on every rank together well within a second. They also agree at the end of every chunk,
/// so no stop goes unseen before the gather; a rank with no chunk left in the last round keeps answering.
package struct GridSampling {
    package let coordinator: Coordinator
    /// This rank's own stop request (a signal), asked at every agreement.
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
        let side = vqvae.config.imageSize, perImage = side * side * vqvae.config.imageChannels
        let positions = topArea + bottomArea
        // One chunk's slot in the gathered buffer: its top codes, bottom codes (as floats, exact below 2^24) and
        // images, each sized for a full chunk.
        let imageOffset = grid.batch * positions, perChunk = grid.batch * (positions + perImage)
        var local = [Float](repeating: 0, count: rounds * perChunk)
        let fault = SamplingFault.fromEnvironment()
        let interval = Self.agreementInterval(batch: grid.batch, top: top.config, bottom: bottom.config)
        var steps = 0
        for round in 0..<rounds {
            let index = round * ranks + rank
            let step: PriorSampler.PositionStep = { done, _ in
                steps += 1
                fault?.fire(atStep: steps, rank: rank)
                let agree = steps % interval == 0 || done == positions
                if agree, try coordinator.anyRank(stopRequested()) { throw SamplingStopped() }
                let samples = (Double(round) + Double(done) / Double(positions)) * Double(ranks * grid.batch)
                progress?(min(samples, Double(grid.count)), grid.count)
            }
            guard index < chunks.count else {
                for p in 0..<positions { try step(p + 1, positions) }
                continue
            }
            let codes = try grid.sample(chunks[index], top: top, bottom: bottom, step: step)
            let images = vqvae.decode(top: codes.top, bottom: codes.bottom)
            local.withUnsafeMutableBufferPointer { buffer in
                let slot = buffer.baseAddress! + round * perChunk
                for (i, code) in codes.top.enumerated() { slot[i] = Float(code) }
                for (i, code) in codes.bottom.enumerated() { slot[grid.batch * topArea + i] = Float(code) }
                (slot + imageOffset).update(from: images.data, count: images.count)
            }
        }
        let all = try coordinator.gatherRows(local)
        guard coordinator.isRoot else { return nil }
        var topCodes: [Int32] = [], bottomCodes: [Int32] = []
        let images = Tensor(shape: [grid.count, side, side, vqvae.config.imageChannels])
        var written = 0
        all.withUnsafeBufferPointer { all in
            for (index, chunk) in chunks.enumerated() {
                let slot = all.baseAddress! + ((index % ranks) * rounds + index / ranks) * perChunk
                topCodes += UnsafeBufferPointer(start: slot, count: chunk.count * topArea).map { Int32($0) }
                bottomCodes += UnsafeBufferPointer(start: slot + grid.batch * topArea, count: chunk.count * bottomArea)
                    .map { Int32($0) }
                (images.data + written * perImage).update(from: slot + imageOffset, count: chunk.count * perImage)
                written += chunk.count
            }
        }
        return SampleGrid.Samples(top: topCodes, bottom: bottomCodes, labels: grid.labels, images: images)
    }

    /// Position steps between stop agreements: about 50 ms of work at 15 G multiply-adds/s (one core), from the
    /// larger prior's multiply-adds per position (its gated layers' convolutions, link and projection, and the
    /// output stack), the same on every rank.
    static func agreementInterval(batch: Int, top: PriorConfig, bottom: PriorConfig) -> Int {
        func perPosition(_ p: PriorConfig) -> Double {
            let c = Double(p.channels), r = Double(p.residualUnits), k = Double(p.kernel)
            let reach = Double(p.kernel / 2 + 1)
            let gated = 2 * c * c * reach * k + 2 * c * r * reach + 4 * c * r + r * c
            return Double(p.layers) * gated + Double(p.outputLayers) * c * c
        }
        let work = Double(batch) * max(perPosition(top), perPosition(bottom))
        return max(1, min(256, Int(0.05 * 15e9 / work)))
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
