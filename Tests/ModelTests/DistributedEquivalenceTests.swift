import Numerics
import XCTest
@testable import Model

/// Two simulated ranks (each one micro-batch, an all-reduce written as a + b, candidates all-gathered in global
/// sample order) against one process running the same two micro-batches: parameters, codebooks and EMA state
/// must agree bit for bit after several steps with initialisation and restarts.
final class DistributedEquivalenceTests: XCTestCase {
    private struct Replica {
        let model: VQVAE
        let adam: Adam

        init(_ config: VQVAEConfig) throws {
            model = try makeModel(config, seed: 31)
            adam = Adam(count: model.store.count)
        }

        var gradients: UnsafeMutableBufferPointer<Float> {
            UnsafeMutableBufferPointer(start: model.store.gradients, count: model.store.count)
        }

        var state: [[Float]] {
            [Array(UnsafeBufferPointer(start: model.store.values, count: model.store.count))]
                + [model.top, model.bottom].flatMap { [Array($0.codebook), Array($0.counts), Array($0.sums)] }
        }
    }

    private func restart(_ model: VQVAE, candidates: [VQVAELevel: [Float]]) -> Int {
        guard model.restartsDue else { return 0 }
        var restarted = 0
        for level in VQVAELevel.allCases {
            let z = candidates[level]!
            restarted += z.withUnsafeBufferPointer {
                model.quantizer(level).restartDeadCodes(from: $0.baseAddress!, count: z.count / model.config.codeDim)
            }
        }
        return restarted
    }

    func testTwoRanksReproduceOneProcessWithTwoMicroBatches() throws {
        var config = tinyConfig(imageSize: 16)
        config.deadCodeThreshold = 2
        let reference = try Replica(config)
        let ranks = [try Replica(config), try Replica(config)]
        let images = shapeImages(count: 8, size: 16, seed: 17)
        /// Step s's global batch: 4 images, micro-batch (or rank) r holding 2 of them.
        func microBatches(step: Int) -> [Tensor] {
            let base = (step % 2) * 4
            return [slice(images, from: base, count: 2), slice(images, from: base + 2, count: 2)]
        }

        // Initialisation from the first batch's quantiser inputs, gathered level by level in rank order.
        let first = microBatches(step: 0)
        for level in VQVAELevel.allCases {
            var gathered: [Float] = []
            for (rank, replica) in ranks.enumerated() {
                gathered += replica.model.quantizerInput(for: first[rank], level: level).array
            }
            for replica in ranks + [reference] {
                gathered.withUnsafeBufferPointer {
                    replica.model.quantizer(level).initialize(
                        from: $0.baseAddress!, count: gathered.count / config.codeDim)
                }
            }
        }

        var restarts = 0
        for step in 0..<4 {
            let parts = microBatches(step: step)
            var candidates: [VQVAELevel: [Float]] = [.top: [], .bottom: []]
            reference.model.store.zeroGradients()
            for part in parts {
                _ = reference.model.forward(part, training: true)
                reference.model.backward(scale: 0.5)
                for level in VQVAELevel.allCases {
                    candidates[level]! += reference.model.lastQuantizerInput(level).array
                }
            }
            reference.adam.update(
                values: reference.model.store.values, gradients: reference.model.store.gradients, lr: 1e-2)
            reference.model.applyEMAUpdate()
            restarts += restart(reference.model, candidates: candidates)

            var gathered: [VQVAELevel: [Float]] = [.top: [], .bottom: []]
            for (rank, replica) in ranks.enumerated() {
                replica.model.store.zeroGradients()
                _ = replica.model.forward(parts[rank], training: true)
                replica.model.backward(scale: 0.5)
                for level in VQVAELevel.allCases { gathered[level]! += replica.model.lastQuantizerInput(level).array }
            }
            let summedGradients = zip(ranks[0].gradients, ranks[1].gradients).map { $0 + $1 }
            let summedStatistics = zip(ranks[0].model.emaStatistics, ranks[1].model.emaStatistics)
                .map { $0 + $1 }
            for replica in ranks {
                _ = replica.gradients.update(fromContentsOf: summedGradients)
                replica.adam.update(
                    values: replica.model.store.values, gradients: replica.model.store.gradients, lr: 1e-2)
                _ = replica.model.emaStatistics.update(fromContentsOf: summedStatistics)
                replica.model.applyEMAUpdate()
                _ = restart(replica.model, candidates: gathered)
            }
            XCTAssertEqual(ranks[0].state, reference.state, "step \(step): rank 0 against one process")
            XCTAssertEqual(ranks[1].state, reference.state, "step \(step): rank 1 against one process")
        }
        XCTAssertGreaterThan(restarts, 0, "the run exercised restarts")
    }
}
