import DataPipeline
import Foundation
import HDF5
import TestSupport
import XCTest

final class BatchLoaderTests: XCTestCase {
    var directory: URL!
    var shardPaths: [String] = []
    let side = 4, images = 22

    /// Two shards whose image i has every pixel equal to i (so a batch tells which images it holds).
    override func setUpWithError() throws {
        directory = try TestEnvironment.temporaryDirectory("loader")
        shardPaths = []
        for (shard, range) in [(0, 0..<10), (1, 10..<images)].map({ ($0.0, $0.1) }) {
            let path = directory.appendingPathComponent("s\(shard).h5").path
            let file = try File(path: path, mode: .create)
            let pixels = range.flatMap { [UInt8](repeating: UInt8($0 * 10), count: side * side * 3) }
            let dataset = try file.root.createDataset("images", type: .uint8, shape: [range.count, side, side, 3], chunk: [1, side, side, 3])
            try pixels.withUnsafeBufferPointer { try dataset.writeRows(0, count: range.count, from: $0) }
            try file.root.writeDataset("labels", range.map { Int64($0 % 3) })
            shardPaths.append(path)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func loader(rank: Int, world: Int, start: DataPosition = DataPosition(), flip: Bool = false) throws -> BatchLoader {
        let set = try ShardSet.images(paths: shardPaths, imageSize: side)
        let sampler = try DistributedSampler(count: set.count, globalBatch: 6, rank: rank, worldSize: world, seed: 3)
        return BatchLoader(shards: set, schedule: .training(sampler, start: start, flip: flip), prefetch: 2)
    }

    /// Which image a batch entry holds, from its pixel value.
    private func imageIDs(_ batch: Batch) -> [Int] {
        let stride = side * side * 3
        return (0..<batch.count).map { Int(((batch.images.data[$0 * stride] + 1) * 127.5 / 10).rounded()) }
    }

    func testBatchesFollowTheSamplerAcrossEpochs() throws {
        let set = try ShardSet.images(paths: shardPaths, imageSize: side)
        let sampler = try DistributedSampler(count: images, globalBatch: 6, rank: 0, worldSize: 1, seed: 3)
        let loader = try loader(rank: 0, world: 1)
        for step in 0..<7 {
            let batch = try XCTUnwrap(try loader.next())
            let epoch = step / 3, position = (step % 3) * 6
            XCTAssertEqual(batch.position, DataPosition(epoch: epoch, sampleInEpoch: position))
            let expected = Array(sampler.localIndices(order: sampler.order(epoch: epoch), position: position))
            XCTAssertEqual(batch.indices, expected)
            XCTAssertEqual(imageIDs(batch), expected.map { Int($0) }, "pixels come from the right rows of the right shard")
            XCTAssertEqual(batch.labels, expected.map { set.labels[Int($0)] })
            XCTAssertEqual(batch.images.shape, [6, side, side, 3])
            XCTAssertTrue(batch.images.array.allSatisfy { $0 >= -1 && $0 <= 1 })
        }
    }

    func testTwoRanksTogetherSeeWhatOneRankSees() throws {
        let one = try loader(rank: 0, world: 1, flip: true)
        let halves = [try loader(rank: 0, world: 2, flip: true), try loader(rank: 1, world: 2, flip: true)]
        for _ in 0..<5 {
            let whole = try XCTUnwrap(try one.next())
            let parts = try halves.map { try XCTUnwrap(try $0.next()) }
            XCTAssertEqual(parts[0].indices + parts[1].indices, whole.indices)
            XCTAssertEqual(parts.map(\.firstSample), [0, 3])
            XCTAssertEqual(parts[0].images.array + parts[1].images.array, whole.images.array, "flips do not depend on the rank")
        }
    }

    func testFlipsMirrorSomeImagesDeterministically() throws {
        // Give every pixel of image 0 a distinct value along x so that a flip shows.
        let path = directory.appendingPathComponent("ramp.h5").path
        let file = try File(path: path, mode: .create)
        let n = 24
        var pixels = [UInt8]()
        for i in 0..<n { for _ in 0..<side { for x in 0..<side { pixels += [UInt8(x * 50), UInt8(i), 0] } } }
        let dataset = try file.root.createDataset("images", type: .uint8, shape: [n, side, side, 3])
        try pixels.withUnsafeBufferPointer { try dataset.writeRows(0, count: n, from: $0) }
        try file.root.writeDataset("labels", [Int64](repeating: 0, count: n))
        let set = try ShardSet.images(paths: [path])
        let sampler = try DistributedSampler(count: n, globalBatch: n, rank: 0, worldSize: 1, seed: 3)
        func firstPixels(_ flip: Bool) throws -> [Float] {
            let loader = BatchLoader(shards: set, schedule: .training(sampler, start: DataPosition(), flip: flip))
            let batch = try XCTUnwrap(try loader.next())
            return (0..<n).map { batch.images.data[$0 * side * side * 3] }
        }
        let plain = try firstPixels(false), flipped = try firstPixels(true)
        XCTAssertTrue(plain.allSatisfy { $0 == -1 })
        let mirrored = flipped.filter { $0 > 0 }.count
        XCTAssertTrue(mirrored > 4 && mirrored < 20, "about half flipped, got \(mirrored) of \(n)")
        XCTAssertEqual(try firstPixels(true), flipped)
    }

    func testResumingFromAPositionContinuesExactlyWithAnyWorldSize() throws {
        let reference = try loader(rank: 0, world: 1)
        var batches: [[Int32]] = []
        var positions: [DataPosition] = []
        for _ in 0..<8 {
            let b = try XCTUnwrap(try reference.next())
            batches.append(b.indices)
            positions.append(b.position!)
        }
        // Stop after 4 batches: the saved position is the one after the fourth global batch.
        let saved = positions[3].advanced(by: 6, count: images)
        XCTAssertEqual(saved, positions[4])
        let resumedOne = try loader(rank: 0, world: 1, start: saved)
        let resumedTwo = [try loader(rank: 0, world: 2, start: saved), try loader(rank: 1, world: 2, start: saved)]
        for k in 4..<8 {
            XCTAssertEqual(try XCTUnwrap(try resumedOne.next()).indices, batches[k])
            XCTAssertEqual(try resumedTwo.flatMap { try XCTUnwrap(try $0.next()).indices }, batches[k])
        }
    }

    func testEvaluationVisitsEachHeldOutImageOnceAndEnds() throws {
        let set = try ShardSet.images(paths: shardPaths, imageSize: side)
        var seen: [Int] = []
        for rank in 0..<3 {
            let loader = BatchLoader(
                shards: set, schedule: .evaluation(EvaluationPartition(count: set.count, rank: rank, worldSize: 3, batch: 4)))
            while let batch = try loader.next() { seen += imageIDs(batch) }
            XCTAssertNil(try loader.next())
        }
        XCTAssertEqual(seen.sorted(), Array(0..<images))
    }

    func testAReadErrorReachesTheTrainingThread() throws {
        // Compressed with h5py's LZF filter, which libhdf5 alone lacks: the shard opens, every read fails, on the
        // reader thread; the error, naming the file, must surface in next() rather than kill or hang.
        let lzf = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/h5py_lzf_shard.h5").path
        let set = try ShardSet.images(paths: [lzf])
        let sampler = try DistributedSampler(count: set.count, globalBatch: 2, rank: 0, worldSize: 1, seed: 3)
        let loader = BatchLoader(shards: set, schedule: .training(sampler, start: DataPosition(), flip: false))
        XCTAssertThrowsError(try loader.next()) { XCTAssertTrue("\($0)".contains("h5py_lzf_shard.h5: /images"), "\($0)") }
        XCTAssertThrowsError(try loader.next(), "the loader stays failed")
    }
}
