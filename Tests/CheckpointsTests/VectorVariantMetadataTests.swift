import Coordination
import Foundation
import MPI
import XCTest
@testable import Checkpoints

/// The vector variant in checkpoint metadata: saved and loaded, and absent (nil) in manifests written before it.
final class VectorVariantMetadataTests: XCTestCase {
    func testTheVariantIsSavedAndLoaded() throws {
        let root = try temporaryRoot("vector")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let state = TestState(seed: 1)
        var metadata = TestState.metadata(step: 3)
        metadata.vectorVariant = "avx2"
        let saved = try CheckpointWriter(root: root, keep: 3).save(
            state.tensors, metadata: metadata, config: "", modelFingerprint: "model-a",
            coordinator: Coordinator(SingleRank()))
        let manifest = try String(contentsOfFile: saved.path + "/manifest.json", encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"vector_variant\" : \"avx2\""), manifest)
        let target = TestState(seed: 2)
        let loaded = try Checkpoint(path: saved.path).load(into: target.tensors, modelFingerprint: "model-a")
        XCTAssertEqual(loaded.vectorVariant, "avx2")
        XCTAssertTrue(target.identical(to: state))
        XCTAssertTrue(CheckpointReport.show(try Checkpoint(path: saved.path)).contains("  vector variant avx2"))
    }

    func testMetadataWithoutTheVariantStillDecodes() throws {
        let json = """
            {"step": 7, "data_epoch": 1, "data_sample_in_epoch": 32, "optimizer_steps": {"vqvae": 7},
             "ema_updates": {}, "scalars": {}, "extras": {}, "lease_generation": 2}
            """
        let metadata = try JSONDecoder().decode(CheckpointMetadata.self, from: Data(json.utf8))
        XCTAssertNil(metadata.vectorVariant)
        XCTAssertEqual(metadata.step, 7)
        XCTAssertEqual(metadata.leaseGeneration, 2)
        let encoded = String(decoding: try JSONEncoder().encode(metadata), as: UTF8.self)
        XCTAssertFalse(encoded.contains("vector_variant"), "an unknown variant is left out, not written as null: \(encoded)")
    }
}
