import Checkpoints
import Coordination
import Configuration
import DataPipeline
import Foundation
import HDF5
import MPI
import TestSupport
import Training
import XCTest

final class WeightExportTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("weight-export") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private let configText = TinyExperiment.modelSections

    private func replica(seed: UInt64) throws -> Replica {
        var document = try ConfigDocument(text: configText, path: "tiny.yaml")
        try document.override("train.seed=\(seed)")
        return try Replica(config: try ExperimentConfig.parse(document), classes: 3)
    }

    /// A tiny replica saved as a checkpoint at step 7, and a replica of another seed restored from it: what the
    /// export command loads.
    private func restoredReplica() throws -> (original: Replica, restored: Replica, checkpoint: Checkpoint) {
        let original = try replica(seed: 1)
        for (level, quantizer) in [original.vqvae.top, original.vqvae.bottom].enumerated() {
            for i in quantizer.codebook.indices { quantizer.codebook[i] = Float(level * 1000 + i) / 7 }
        }
        original.step = 7
        let fingerprint = original.fingerprint(classes: 3)
        let saved = try CheckpointWriter(root: directory.path + "/checkpoints", keep: 1).save(
            original.checkpointTensors, metadata: original.checkpointMetadata(position: DataPosition()), config: configText,
            modelFingerprint: fingerprint, coordinator: Coordinator(SingleRank()))
        let checkpoint = try Checkpoint(path: saved.path)
        let restored = try replica(seed: 2)
        XCTAssertNotEqual(restored.stores.vqvae.values[0], original.stores.vqvae.values[0], "another seed starts elsewhere")
        _ = restored.restore(try checkpoint.load(into: restored.checkpointTensors, modelFingerprint: fingerprint))
        return (original, restored, checkpoint)
    }

    @discardableResult
    private func export(_ replica: Replica, _ checkpoint: Checkpoint, to path: String, overwrite: Bool = false) throws
        -> WeightExport.Summary
    {
        try WeightExport.write(
            replica, to: path, step: replica.step, modelFingerprint: checkpoint.manifest.modelFingerprint,
            overwrite: overwrite)
    }

    func testEveryParameterAndCodebookReadsBackWithItsNameShapeAndValues() throws {
        let (original, restored, checkpoint) = try restoredReplica()
        let path = directory.path + "/weights.h5"
        let summary = try export(restored, checkpoint, to: path)
        XCTAssertEqual(summary.values, original.stores.all.map(\.count).reduce(0, +) + 2 * 32 * 8)
        XCTAssertEqual(summary.datasets, WeightExport.datasets(of: original).count)

        let file = try File(path: path, mode: .readOnly)
        XCTAssertEqual(try file.root.attribute("format_version", as: Int64.self), [1])
        XCTAssertEqual(try file.root.attribute("step", as: Int64.self), [7])
        XCTAssertEqual(try file.root.stringAttribute("model_fingerprint"), original.fingerprint(classes: 3))
        let recorded = try ExperimentConfig.parse(
            try ConfigDocument(text: try file.root.stringAttribute("config"), path: "config attribute"))
        XCTAssertEqual(recorded.model, original.config.model, "the model's settings read back")
        XCTAssertEqual(recorded.topPrior, original.config.topPrior)
        XCTAssertEqual(recorded.bottomPrior, original.config.bottomPrior)
        XCTAssertEqual(try file.root.childNames(), ["bottom_prior", "top_prior", "vqvae"])
        for part in ModelPart.allCases {
            let store = original.stores[part], model = part.name
            let group = try file.root.openGroup(model)
            XCTAssertEqual(try group.childNames().filter { $0.contains(".") }.count, store.parameters.count, model)
            for parameter in store.parameters {
                let dataset = try group.openDataset(parameter.name)
                XCTAssertEqual(dataset.storedType, .float32)
                XCTAssertEqual(dataset.shape, parameter.shape, parameter.name)
                let expected = Array(UnsafeBufferPointer(start: store.value(parameter), count: parameter.count))
                XCTAssertEqual(try dataset.read(as: Float.self), expected, "\(model)/\(parameter.name)")
            }
        }
        let conv = try file.root.openDataset("vqvae/encoder.bottom.conv1.weight")
        XCTAssertEqual(conv.shape, [8, 4, 4, 3], "convolution weights are [out, kh, kw, in]")
        for (level, quantizer) in [("top", original.vqvae.top), ("bottom", original.vqvae.bottom)] {
            let codebook = try file.root.openDataset("vqvae/\(level)/codebook")
            XCTAssertEqual(codebook.shape, [32, 8])
            XCTAssertEqual(try codebook.read(as: Float.self), Array(quantizer.codebook), level)
        }
    }

    /// Identical states export identical bytes, whatever run they came from: the file records the model's
    /// settings, not the run's paths, and no timestamps.
    func testIdenticalStatesExportIdenticalBytes() throws {
        let (_, restored, checkpoint) = try restoredReplica()
        var document = try ConfigDocument(text: configText, path: "elsewhere.yaml")
        try document.override("run.directory=/somewhere/else")
        try document.override("data.manifest=/other/data/manifest.json")
        let elsewhere = try Replica(config: try ExperimentConfig.parse(document), classes: 3)
        _ = elsewhere.restore(try checkpoint.load(into: elsewhere.checkpointTensors, modelFingerprint: elsewhere.fingerprint(classes: 3)))
        let first = directory.path + "/a.h5", second = directory.path + "/b.h5"
        try export(restored, checkpoint, to: first)
        try export(elsewhere, checkpoint, to: second)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: first)), try Data(contentsOf: URL(fileURLWithPath: second)))
    }

    func testH5dumpFindsADatasetByItsDocumentedName() throws {
        let h5dump = "/usr/bin/h5dump"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: h5dump), "hdf5-tools is not installed")
        let (_, restored, checkpoint) = try restoredReplica()
        let path = directory.path + "/weights.h5"
        try export(restored, checkpoint, to: path)
        let result = try TestEnvironment.run([h5dump, "-H", "-d", "/vqvae/top/codebook", "-d", "/top_prior/top_prior.output0.weight", path], timeout: 60)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("DATASET \"/vqvae/top/codebook\""), result.output)
        XCTAssertTrue(result.output.contains("DATASPACE  SIMPLE { ( 32, 8 ) / ( 32, 8 ) }"), result.output)
        XCTAssertTrue(result.output.contains("H5T_IEEE_F32LE"), result.output)
    }

    func testAnExistingFileIsKeptUnlessOverwriting() throws {
        let (_, restored, checkpoint) = try restoredReplica()
        let path = directory.path + "/weights.h5"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try export(restored, checkpoint, to: path)) { error in
            XCTAssertEqual("\(error)", "\(path): exists; pass --force to replace it")
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "keep me")
        try export(restored, checkpoint, to: path, overwrite: true)
        XCTAssertEqual(try File(path: path, mode: .readOnly).root.attribute("step", as: Int64.self), [7])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["checkpoints", "weights.h5"],
                       "no temporary is left behind")
    }
}
