import Coordination
import MPI
import Foundation
@testable import Checkpoints

/// A training state shaped like the real one (parameters, Adam moments, codebooks, EMA statistics), owning its
/// buffers; its values are a function of a seed so a loaded copy can be compared bit for bit.
final class TestState {
    static let layout: [(String, [Int])] = [
        ("vqvae/parameters", [5000]), ("vqvae/adam/m", [5000]), ("vqvae/adam/v", [5000]),
        ("vqvae/top/codebook", [64, 8]), ("vqvae/top/ema_counts", [64]), ("vqvae/top/ema_sums", [64, 8]),
        ("vqvae/bottom/codebook", [64, 8]), ("top_prior/parameters", [3000]), ("top_prior/adam/m", [3000]),
        ("bias", [1]),
    ]

    let tensors: [StateTensor]

    init(seed: UInt32, layout: [(String, [Int])] = TestState.layout) {
        tensors = layout.enumerated().map { index, entry in
            let count = entry.1.reduce(1, *)
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            for i in 0..<count { buffer[i] = TestState.value(seed: seed, tensor: UInt32(index), element: UInt32(i)) }
            return StateTensor(name: entry.0, shape: entry.1, buffer: buffer)
        }
    }

    deinit { for tensor in tensors { tensor.buffer.deallocate() } }

    /// Arbitrary finite bit patterns (signs, subnormals, large exponents), so that any conversion would show.
    static func value(seed: UInt32, tensor: UInt32, element: UInt32) -> Float {
        var x = seed &* 0x9E37_79B9 ^ tensor &* 0x85EB_CA6B ^ element &* 0xC2B2_AE35
        x ^= x >> 16
        x = x &* 0x7FEB_352D
        x ^= x >> 15
        let value = Float(bitPattern: x)
        return value.isFinite ? value : Float(bitPattern: x & 0xBF7F_FFFF)
    }

    /// True when every value equals `other`'s bit for bit.
    func identical(to other: TestState) -> Bool {
        zip(tensors, other.tensors).allSatisfy { a, b in
            a.name == b.name && a.shape == b.shape
                && (0..<a.count).allSatisfy { a.buffer[$0].bitPattern == b.buffer[$0].bitPattern }
        }
    }

    static func metadata(step: Int) -> CheckpointMetadata {
        CheckpointMetadata(
            step: step, dataEpoch: 2, dataSampleInEpoch: 96, optimizerSteps: ["vqvae": step, "top_prior": step / 2],
            emaUpdates: ["vqvae/top": step], scalars: ["lr_scale": 0.1], extras: ["note": "test"])
    }
}

/// Saves the state of `seed` at `step` through the collective `save` in a world of one.
@discardableResult
func saveSingle(_ writer: CheckpointWriter, seed: UInt32, step: Int, fingerprint: String = "model-a") throws -> SavedCheckpoint {
    let state = TestState(seed: seed)
    return try withExtendedLifetime(state) {
        try writer.save(
            state.tensors, metadata: TestState.metadata(step: step), config: "config: \(step)",
            modelFingerprint: fingerprint, coordinator: Coordinator(SingleRank()))
    }
}

/// Saves `state` as `worldSize` simulated ranks would, one after another in this process, through the writer's
/// file-level steps (the collective `save` only adds the agreement between them).
func simulateSave(_ writer: CheckpointWriter, _ state: TestState, step: Int, worldSize: Int, fingerprint: String = "model-a")
    throws -> String
{
    let plan = ShardPlan(state.tensors, worldSize: worldSize)
    let directory = writer.temporaryDirectory(step: step, nonce: "sim\(worldSize)")
    let reports = try (0..<worldSize).map {
        try writer.writeShard(state.tensors, plan: plan, rank: $0, worldSize: worldSize, step: step, directory: directory)
    }
    let path = try writer.commit(
        state.tensors, plan: plan, reports: reports, metadata: TestState.metadata(step: step), config: "config: \(step)",
        modelFingerprint: fingerprint, directory: directory)
    _ = try writer.rotate(keeping: path, nonce: "sim\(worldSize)")
    return path
}

func temporaryRoot(_ label: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("vqvae2-ckpt-\(label)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}
