import Coordination
import DataPipeline
import MPI
import Model
import Numerics
import TestSupport
import Training
import XCTest

/// `distributed.threads_per_rank`: joint training steps through the real `TrainingStep` leave every float of
/// state (parameters, Adam moments, codebooks, EMA statistics) the same bit for bit with 1, 2 or 3 threads, and
/// with `train.recompute_gated_layers` on; the thread setting is checked against the launcher's and OpenBLAS's.
final class ThreadsPerRankTests: XCTestCase {
    override func tearDown() {
        ThreadPool.shared.configure(threads: 1)
        super.tearDown()
    }

    /// Large enough that every split path runs with several pieces: im2col blocks and groups, Winograd blocks and
    /// groups, products cut by rows, columns and the inner dimension, attention pairs and dropout pieces.
    private func config() -> ExperimentConfig {
        var config = ExperimentConfig()
        config.model.imageSize = 32
        config.model.channels = 64
        config.model.residualChannels = 32
        config.model.codebookSize = 64
        config.model.codeDim = 32
        let prior = PriorConfig(
            codebookSize: 64, classes: 3, channels: 32, layers: 3, firstKernel: 5, kernel: 3, attentionEvery: 2,
            heads: 2, dropout: 0.1, outputLayers: 2, conditioningLayers: 1, conditioningChannels: 32)
        config.topPrior = prior
        var bottom = prior
        bottom.attentionEvery = 0
        config.bottomPrior = bottom
        config.train.globalBatch = 8
        config.train.schedule = .joint
        return config
    }

    private func trainedState(
        threads: Int, steps: Int, recompute: Bool = false
    ) throws -> [(name: String, values: [Float])] {
        try RankThreads.apply(threads, source: "test", environment: [:])
        var config = config()
        config.train.recomputeGatedLayers = recompute
        let replica = try Replica(config: config, classes: 3)
        let coordinator = Coordinator(SingleRank())
        let step = TrainingStep(
            replica: replica, coordinator: coordinator,
            reducer: GradientReducer(collective: coordinator.collective, stores: replica.stores.all))
        let random = CounterRandom(seed: 5, keys: [1])
        for s in 0..<steps {
            let images = Tensor(shape: [8, 32, 32, 3])
            for i in 0..<images.count { images.data[i] = random.uniform(UInt64(s * images.count + i)) * 2 - 1 }
            let labels = (0..<8).map { Int32(($0 + s) % 3) }
            _ = try step.run(Batch(images: images, labels: labels, firstSample: s * 8))
        }
        return replica.stateTensors.map { ($0.name, Array($0.values)) }
    }

    func testJointStepsGiveTheSameStateWithOneTwoOrThreeThreads() throws {
        let one = try trainedState(threads: 1, steps: 2)
        for threads in [2, 3] {
            assertSame(try trainedState(threads: threads, steps: 2), one, "with \(threads) threads")
        }
    }

    func testRecomputedGatedLayersGiveTheSameState() throws {
        let plain = try trainedState(threads: 2, steps: 2)
        assertSame(try trainedState(threads: 2, steps: 2, recompute: true), plain, "recomputing the gated layers")
    }

    private func assertSame(
        _ other: [(name: String, values: [Float])], _ one: [(name: String, values: [Float])], _ how: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(other.map(\.name), one.map(\.name), file: file, line: line)
        for (a, b) in zip(other, one) {
            let differing = zip(a.values, b.values).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(differing, 0, "\(a.name): \(differing) of \(a.values.count) floats differ \(how)", file: file, line: line)
        }
    }

    func testALauncherThatGaveAnotherCoreCountIsNamed() {
        XCTAssertThrowsError(
            try RankThreads.apply(2, source: "configs/x.yaml", environment: ["VQVAE2_THREADS_PER_RANK": "1"])
        ) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("configs/x.yaml"), message)
            XCTAssertTrue(message.contains("distributed.threads_per_rank is 2"), message)
            XCTAssertTrue(message.contains("--threads-per-rank 2"), message)
        }
        XCTAssertNoThrow(try RankThreads.apply(2, source: "x", environment: ["VQVAE2_THREADS_PER_RANK": "2"]))
        XCTAssertEqual(ThreadPool.shared.threadCount, 2)
        XCTAssertEqual(BLAS.threadCount, 1, "OpenBLAS stays at one thread: the pool splits its products")
    }
}
