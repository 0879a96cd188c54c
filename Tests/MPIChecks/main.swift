// Programs the test suite runs under mpirun: each mode checks one distributed behaviour and exits non-zero,
// with a message naming the rank and the check, when it does not hold.
import Checkpoints
import Coordination
import DataPipeline
import Foundation
import HDF5
import MPI
import Numerics

struct CheckFailure: Error, CustomStringConvertible {
    let description: String
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String, rank: Int) throws {
    if !condition { throw CheckFailure(description: "rank \(rank): \(message())") }
}

/// All-reduce (sum, max, min; several types; in place and non-blocking), broadcast, all-gather, barrier.
func checkCollectives(_ world: any Collective) throws {
    let r = world.rank, n = world.size

    var floats = (0..<1000).map { Float($0 % 17) + Float(r) }
    try world.allReduce(&floats)
    let expectedFloats = (0..<1000).map { Float(n) * Float($0 % 17) + Float(n * (n - 1) / 2) }
    try expect(floats == expectedFloats, "float all-reduce sum", rank: r)

    var doubles = [Double(r) + 0.5, -Double(r)]
    try world.allReduce(&doubles, op: .max)
    try expect(doubles == [Double(n - 1) + 0.5, 0], "double all-reduce max: \(doubles)", rank: r)
    try expect(try world.allReduce(Int64(r + 10), op: .min) == 10, "int64 all-reduce min", rank: r)
    try expect(try world.allReduce(UInt64(1) << 40, op: .sum) == UInt64(n) << 40, "uint64 all-reduce sum", rank: r)

    // Several megabytes through the non-blocking path, advanced only by test() as the training loop will.
    let big = 1 << 20
    let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: big)
    defer { buffer.deallocate() }
    for i in 0..<big { buffer[i] = Float(i % 1024) * Float(r + 1) }
    let request = try world.startAllReduce(buffer)
    var polls = 0
    while try !request.test() { polls += 1 }
    let factor = Float(n * (n + 1) / 2)
    try expect((0..<big).allSatisfy { buffer[$0] == Float($0 % 1024) * factor }, "non-blocking all-reduce", rank: r)

    for root in [0, n - 1] {
        var values = r == root ? [Float(3.25), 7, Float(root)] : [0, 0, 0]
        try world.broadcast(&values, root: root)
        try expect(values == [3.25, 7, Float(root)], "broadcast from root \(root): \(values)", rank: r)
    }
    let text = try world.broadcast(bytes: r == 0 ? Array("config: 1".utf8) : [])
    try expect(String(decoding: text, as: UTF8.self) == "config: 1", "byte broadcast", rank: r)

    let gathered = try world.allGather([Int32(r), Int32(r * r)])
    try expect(gathered == (0..<n).map { [Int32($0), Int32($0 * $0)] }, "all-gather: \(gathered)", rank: r)
    let strings = try world.allGather(bytes: Array(String(repeating: "x", count: r + 1).utf8))
    try expect(strings.map(\.count) == (0..<n).map { $0 + 1 }, "variable-length all-gather", rank: r)

    try world.barrier()
    print("rank \(r)/\(n): collectives ok (non-blocking all-reduce finished after \(polls) polls)")
}

/// Every rank writes its own chunked uint8 image file with attributes; after a barrier, every rank reads every
/// other rank's file back (a filesystem all ranks see, as checkpoints will need).
func checkHDF5RoundTrip(_ world: any Collective, directory: String) throws {
    let r = world.rank, n = world.size, images = 5, side = 8
    let path = "\(directory)/rank\(r).h5"
    do {
        let file = try File(path: path, mode: .truncate)
        let dataset = try file.root.createDataset(
            "images", type: .uint8, shape: [images, side, side, 3], chunk: [1, side, side, 3])
        let pixels = (0..<images * side * side * 3).map { UInt8(truncatingIfNeeded: $0 * 7 + r) }
        try pixels.withUnsafeBufferPointer { try dataset.writeRows(0, count: images, from: $0) }
        try file.root.writeDataset("labels", (0..<images).map { Int64($0 + 100 * r) })
        try file.root.setAttribute("image_size", Int32(side))
        try file.root.setAttribute("source", "rank \(r) of \(n)")
        try dataset.setAttribute("scale", [Float(0.5), 2])
        try file.flush()
    }
    try world.barrier()
    for other in 0..<n {
        let file = try File(path: "\(directory)/rank\(other).h5", mode: .readOnly)
        let dataset = try file.root.openDataset("images")
        try expect(dataset.shape == [images, side, side, 3], "shape \(dataset.shape)", rank: r)
        try expect(dataset.storedType == .uint8, "stored type", rank: r)
        try expect(dataset.chunkShape == [1, side, side, 3], "chunk \(String(describing: dataset.chunkShape))", rank: r)
        var row = [UInt8](repeating: 0, count: side * side * 3)
        try row.withUnsafeMutableBufferPointer { try dataset.readRows(3, count: 1, into: $0) }
        let offset = 3 * side * side * 3
        try expect(
            row == (0..<row.count).map { UInt8(truncatingIfNeeded: ($0 + offset) * 7 + other) },
            "pixels of rank \(other)'s image 3", rank: r)
        try expect(try file.root.openDataset("labels").read(as: Int64.self)[4] == Int64(4 + 100 * other), "labels", rank: r)
        try expect(try file.root.stringAttribute("source") == "rank \(other) of \(n)", "source attribute", rank: r)
        try expect(try dataset.attribute("scale", as: Float.self) == [0.5, 2], "scale attribute", rank: r)
    }
    try world.barrier()
    print("rank \(r)/\(n): hdf5 round trip ok")
}

/// Rank 1 fails while rank 0 waits in a collective: mpirun must end the job rather than hang.
func checkFailingRank(_ world: any Collective) throws {
    if world.rank == 1 {
        print("rank 1: failing on purpose")
        exit(3)
    }
    var value: [Float] = [1]
    try world.allReduce(&value)
    print("rank \(world.rank): all-reduce returned although a rank failed")
}

/// Every rank loads its slices of a prepared split: across ranks, each global batch must be exactly what one rank
/// with the whole batch reads, the ranks' samples disjoint, an epoch covering every full batch; a loader resumed
/// from a saved position must continue the same sequence; evaluation must see every held-out image once.
func checkLoader(_ world: any Collective, manifest: String) throws {
    let r = world.rank, n = world.size, globalBatch = 4 * n
    let (_, train) = try ShardSet.open(manifest: manifest, split: "train", verify: true)
    let sampler = try DistributedSampler(count: train.count, globalBatch: globalBatch, rank: r, worldSize: n, seed: 5)
    let single = try DistributedSampler(count: train.count, globalBatch: globalBatch, rank: 0, worldSize: 1, seed: 5)
    let steps = sampler.stepsPerEpoch + 2
    let loader = BatchLoader(shards: train, schedule: .training(sampler, start: DataPosition(), flip: true))
    var mine: [[Int32]] = []
    var positions: [DataPosition] = []
    for _ in 0..<steps {
        let batch = try loader.next()!
        mine.append(batch.indices)
        positions.append(batch.position!)
    }
    var epochSeen = Set<Int32>()
    for step in 0..<steps {
        let everyone = try world.allGather(mine[step]).flatMap { $0 }
        let position = positions[step]
        let expected = Array(single.localIndices(order: single.order(epoch: position.epoch), position: position.sampleInEpoch))
        try expect(everyone == expected, "step \(step): ranks together read \(everyone), one rank reads \(expected)", rank: r)
        if position.epoch == 0 {
            try expect(epochSeen.isDisjoint(with: everyone), "step \(step) repeats samples", rank: r)
            epochSeen.formUnion(everyone)
        }
    }
    try expect(epochSeen.count == sampler.stepsPerEpoch * globalBatch, "epoch 0 covered \(epochSeen.count) samples", rank: r)

    let resumeAt = 3
    let resumed = BatchLoader(shards: train, schedule: .training(sampler, start: positions[resumeAt], flip: true))
    for step in resumeAt..<steps {
        try expect(try resumed.next()!.indices == mine[step], "resumed loader differs at step \(step)", rank: r)
    }

    let (_, heldout) = try ShardSet.open(manifest: manifest, split: "heldout")
    let evaluation = BatchLoader(
        shards: heldout, schedule: .evaluation(EvaluationPartition(count: heldout.count, rank: r, worldSize: n, batch: 5)))
    var evaluated: [Int32] = []
    while let batch = try evaluation.next() { evaluated += batch.indices }
    let all = try world.allGather(bytes: evaluated.flatMap { withUnsafeBytes(of: $0) { Array($0) } })
        .flatMap { bytes in stride(from: 0, to: bytes.count, by: 4).map { i in bytes[i..<(i + 4)].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } } }
    try expect(all.sorted() == (0..<Int32(heldout.count)).map { $0 }, "evaluation saw \(all.count) of \(heldout.count)", rank: r)
    print("rank \(r)/\(n): loader ok (\(steps) steps of \(globalBatch), \(heldout.count) held-out images)")
}

/// The gradient reducer averages in buckets (with and without polling), and the coordinator's checks and decisions
/// agree on every rank.
func checkCoordination(_ world: any Collective) throws {
    let r = world.rank, n = world.size
    let stores = [ParameterStore(), ParameterStore()]
    _ = stores[0].register("a", shape: [1000], initializer: .constant(0))
    _ = stores[0].register("b", shape: [37], initializer: .constant(0))
    _ = stores[1].register("c", shape: [5000], initializer: .constant(0))
    for store in stores { store.materialize(seed: 0) }
    func fill() {
        for (s, store) in stores.enumerated() {
            for i in 0..<store.count { store.gradients[i] = Float((i + s) % 7) * Float(r + 1) }
        }
    }
    let reducer = GradientReducer(collective: world, stores: stores, bucketBytes: 1024)
    try expect(reducer.buckets.count == 5 + 20, "buckets \(reducer.buckets.count)", rank: r)
    let mean = Float(n + 1) / 2
    for overlap in [false, true] {
        fill()
        let reducer = GradientReducer(collective: world, stores: stores, bucketBytes: 1024, overlap: overlap)
        try reducer.gradientsReady(stores[1])
        try reducer.poll()
        try reducer.gradientsReady(stores[0])
        try reducer.poll()
        try reducer.average(stores, microBatches: 1)
        for (s, store) in stores.enumerated() {
            for i in 0..<store.count where store.gradients[i] != Float((i + s) % 7) * mean {
                throw CheckFailure(description: "rank \(r): gradient \(i) of store \(s) is \(store.gradients[i]) (overlap \(overlap))")
            }
        }
    }

    let coordinator = Coordinator(world)
    var statistics = [Float](repeating: Float(r), count: 10)
    try statistics.withUnsafeMutableBufferPointer { try coordinator.sumEMAStatistics($0) }
    try expect(statistics.allSatisfy { $0 == Float(n * (n - 1) / 2) }, "EMA statistics sum", rank: r)

    let gathered = try coordinator.gatherRows([Float(r), Float(r) + 0.5])
    try expect(gathered == (0..<n).flatMap { [Float($0), Float($0) + 0.5] }, "rows in rank order: \(gathered)", rank: r)

    var a = [Float](repeating: 1, count: 64), b = [Float](repeating: 2, count: 64)
    func verify() throws {
        try a.withUnsafeBufferPointer { a in
            try b.withUnsafeBufferPointer { b in try coordinator.verifyIdentical([("model.a", a), ("model.b", b)]) }
        }
    }
    try verify()
    if n > 1 {
        // Two ranks cannot tell which one is wrong; three or more name the rank outside the majority, rank 0
        // included.
        let planted = n > 2 ? 0 : n - 1
        if r == planted { b[17] = 2.0000002 }
        do {
            try verify()
            throw CheckFailure(description: "rank \(r): divergence went unnoticed")
        } catch let error as CoordinationError {
            let expected: CoordinationError = n > 2
                ? .diverged(tensor: "model.b", ranks: [0], baseline: .majority(ranks: n - 1))
                : .diverged(tensor: "model.b", ranks: [1], baseline: .rankZero)
            try expect(error == expected, "\(error)", rank: r)
        }
        if r == planted { b[17] = 2 }
    }
    let outcomes = try coordinator.agree("a test phase") { r * 10 }
    try expect(outcomes == (0..<n).map { $0 * 10 }, "agree gathers every rank's outcome: \(outcomes)", rank: r)
    let optional = try coordinator.agree("an optional result") { () -> Int? in r == 0 ? nil : r }
    try expect(optional == (0..<n).map { $0 == 0 ? nil : $0 }, "agree keeps a nil result: \(optional)", rank: r)
    do {
        _ = try coordinator.agree("a failing phase") { () -> Int in
            if r == n - 1 { throw CheckFailure(description: "planted failure") }
            return r
        }
        throw CheckFailure(description: "rank \(r): a failure on rank \(n - 1) went unnoticed")
    } catch let error as CoordinationError {
        try expect(r != n - 1 && error == .ranksFailed(phase: "a failing phase", failures: [n - 1: "planted failure"]), "\(error)", rank: r)
    } catch let error as CheckFailure where r == n - 1 {
        try expect(error.description == "planted failure", "own error rethrown: \(error)", rank: r)
    }
    try expect(try coordinator.anyRank(r == n - 1), "anyRank", rank: r)
    try expect(!(try coordinator.anyRank(false)), "anyRank false", rank: r)
    try expect(try coordinator.ranks(where: r == 0) == [0], "ranks(where:)", rank: r)
    print("rank \(r)/\(n): coordination ok")
}

/// A state shaped like training's (about 4 MB), its bits a function of `step`, owned by the caller.
func checkpointState(step: Int) -> [StateTensor] {
    let layout: [(String, [Int])] = [
        ("vqvae/parameters", [400_000]), ("vqvae/adam/m", [400_000]), ("vqvae/adam/v", [400_000]),
        ("vqvae/top/codebook", [512, 64]), ("vqvae/top/ema_counts", [512]), ("vqvae/top/ema_sums", [512, 64]),
        ("top_prior/parameters", [150_000]), ("top_prior/adam/m", [150_000]), ("step_scale", [1]),
    ]
    return layout.enumerated().map { index, entry in
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: entry.1.reduce(1, *))
        for i in buffer.indices {
            var x = UInt32(truncatingIfNeeded: step) &* 0x9E37_79B9 ^ UInt32(index) &* 0x85EB_CA6B ^ UInt32(i) &* 0xC2B2_AE35
            x ^= x >> 16
            x = x &* 0x7FEB_352D
            x ^= x >> 15
            buffer[i] = Float(bitPattern: Float(bitPattern: x).isFinite ? x : x & 0xBF7F_FFFF)
        }
        return StateTensor(name: entry.0, shape: entry.1, buffer: buffer)
    }
}

/// Checkpoint save, load (any world size), refusal of a NaN state, and the shared-filesystem probe:
///   checkpoint save ROOT STEP KEEP | load ROOT EXPECTED_STEP | nan ROOT STEP | probe ROOT | probe-unshared ROOT
func checkCheckpoint(_ world: any Collective, _ arguments: [String]) throws {
    let r = world.rank, n = world.size
    guard arguments.count >= 2 else { throw CheckFailure(description: "checkpoint needs an action and a root") }
    let action = arguments[0], root = arguments[1]
    let number = arguments.count > 2 ? Int(arguments[2]) ?? -1 : -1
    switch action {
    case "save", "nan":
        let state = checkpointState(step: number)
        defer { for tensor in state { tensor.buffer.deallocate() } }
        // Replicas are identical, so every rank holds the NaN; the rank whose share holds it notices.
        if action == "nan" { state[4].buffer[3] = .nan }
        let writer = CheckpointWriter(root: root, keep: arguments.count > 3 ? Int(arguments[3]) ?? 2 : 2)
        let metadata = CheckpointMetadata(step: number, dataEpoch: 1, dataSampleInEpoch: 64 * number, optimizerSteps: ["vqvae": number])
        do {
            let saved = try writer.save(state, metadata: metadata, config: "ranks: \(n)", modelFingerprint: "mpi-checks", coordinator: Coordinator(world))
            try expect(action == "save", "a NaN state was saved", rank: r)
            print("rank \(r)/\(n): checkpoint saved \(saved.path) (\(saved.bytesWritten) bytes)")
        } catch let error as CheckpointError where action == "nan" {
            print("rank \(r)/\(n): checkpoint refused: \(error)")
        }
    case "load":
        guard let path = try CheckpointCatalog.latestCommitted(in: root) else { throw CheckFailure(description: "rank \(r): nothing committed in \(root)") }
        let checkpoint = try Checkpoint(path: path)
        let state = checkpointState(step: -1)
        defer { for tensor in state { tensor.buffer.deallocate() } }
        let metadata = try checkpoint.load(into: state, modelFingerprint: "mpi-checks")
        try expect(metadata.step == number, "loaded step \(metadata.step), expected \(number)", rank: r)
        try expect(metadata.dataSampleInEpoch == 64 * number, "data position \(metadata.dataSampleInEpoch)", rank: r)
        let expected = checkpointState(step: number)
        defer { for tensor in expected { tensor.buffer.deallocate() } }
        for (loaded, wanted) in zip(state, expected) {
            try expect(loaded.buffer.map(\.bitPattern) == wanted.buffer.map(\.bitPattern), "\(loaded.name) differs", rank: r)
        }
        try world.barrier()
        print("rank \(r)/\(n): checkpoint step \(number) written by \(checkpoint.manifest.worldSize) rank(s) loaded bit-identical")
    case "probe":
        try SharedFilesystemProbe.run(root: root, coordinator: Coordinator(world))
        print("rank \(r)/\(n): checkpoint directory shared")
    case "probe-unshared":
        // Each rank its own directory: what node-local disks at the same path look like.
        do {
            try SharedFilesystemProbe.run(root: "\(root)/node\(r)", coordinator: Coordinator(world))
            throw CheckFailure(description: "rank \(r): unshared directories passed the probe")
        } catch let error as CheckpointError {
            try expect(error == .notShared(root: "\(root)/node\(r)", ranks: Array(1..<n)), "\(error)", rank: r)
            print("rank \(r)/\(n): probe refused: \(error)")
        }
    default:
        throw CheckFailure(description: "unknown checkpoint action '\(action)'")
    }
}

let mode = CommandLine.arguments.dropFirst().first ?? ""
do {
    if mode == "single-rank" {
        // The same checks over the world of one process that tools and tests use without mpirun (and MPI).
        try checkCollectives(SingleRank())
        try checkCoordination(SingleRank())
        exit(0)
    }
    let mpi = try MPIRuntime()
    switch mode {
    case "collectives": try checkCollectives(mpi.world)
    case "hdf5": try checkHDF5RoundTrip(mpi.world, directory: CommandLine.arguments[2])
    case "failing-rank": try checkFailingRank(mpi.world)
    case "loader": try checkLoader(mpi.world, manifest: CommandLine.arguments[2])
    case "coordination": try checkCoordination(mpi.world)
    case "checkpoint": try checkCheckpoint(mpi.world, Array(CommandLine.arguments.dropFirst(2)))
    default: throw CheckFailure(description: "unknown mode '\(mode)': collectives | single-rank | hdf5 DIR | failing-rank | loader MANIFEST | coordination | checkpoint ACTION ROOT ...")
    }
} catch {
    FileHandle.standardError.write(Data("mpi-checks \(mode): \(error)\n".utf8))
    exit(1)
}
