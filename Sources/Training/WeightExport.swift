import Checkpoints
import Coordination
import Foundation
import HDF5
import Model
import Storage

/// A failed weight export, naming the file (and the dataset, where one is at fault).
package struct WeightExportError: Error, CustomStringConvertible {
    package let path: String
    package let reason: String

    package init(path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    package var description: String { "\(path): \(reason)" }
}

/// The model's weights in one HDF5 file for other tools (h5py, PyTorch ports): one fp32 dataset per parameter, at
/// `/<model>/<parameter name>` in the model's own shape, plus both codebooks; docs/CHECKPOINTS.md gives the layouts.
///
/// Unlike a checkpoint it holds no optimiser or EMA state and is not sharded: it is for using a model, not for
/// resuming its training.
package enum WeightExport {
    /// The layout version written as the root attribute `format_version`.
    package static let formatVersion = 1

    /// What was written, for the command's report.
    package struct Summary: Codable, Sendable, Equatable {
        package let path: String
        package let datasets: Int
        package let values: Int
        package let bytes: Int
    }

    /// The dataset paths and shapes an export of `replica` holds, in the order they are written.
    package static func datasets(of replica: Replica) -> [(path: String, shape: [Int])] {
        var list: [(String, [Int])] = []
        for part in ModelPart.allCases {
            for parameter in replica.stores[part].parameters { list.append(("\(part.name)/\(parameter.name)", parameter.shape)) }
        }
        let k = replica.config.model.codebookSize, d = replica.config.model.codeDim
        for level in VQVAELevel.allCases { list.append(("vqvae/\(level.name)/codebook", [k, d])) }
        return list
    }

    /// Writes `replica`'s weights to `path`. `step`, `modelFingerprint` and the model's settings
    /// (`ExperimentConfig.modelSectionsText`, no run paths) become root attributes, so the file says what it holds
    /// and identical states give identical files.
    ///
    /// The file is written under a temporary name, fsynced and renamed, so `path` is either absent, the previous
    /// file, or the complete export; a failure (or a throwing `afterEach`, which runs after every dataset) removes
    /// the temporary. An existing `path` is refused unless `overwrite`. `fault` can make the writes meet a full disk.
    @discardableResult
    package static func write(
        _ replica: Replica, to path: String, step: Int, modelFingerprint: String, overwrite: Bool = false,
        fault: FaultInjection = FaultInjection(), afterEach: () throws -> Void = {}
    ) throws -> Summary {
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw WeightExportError(path: path, "exists; pass --force to replace it")
        }
        let temporary = path + ".tmp-\(getpid())"
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            let values = try writeDatasets(
                replica, to: temporary, step: step, modelFingerprint: modelFingerprint,
                config: replica.config.modelSectionsText, failingWithNoSpace: fault.noSpaceInExport, afterEach: afterEach)
            try Durability.fsync(temporary)
            let bytes = (try FileManager.default.attributesOfItem(atPath: temporary)[.size] as? Int) ?? 0
            try Durability.rename(temporary, to: path)
            return Summary(path: path, datasets: datasets(of: replica).count, values: values, bytes: bytes)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            guard error is HDF5Error || error is StorageError else { throw error }
            let kept = FileManager.default.fileExists(atPath: path) ? "the file already there is untouched" : "nothing of it is left"
            throw WeightExportError(path: path, "not written (\(kept)): \(error)")
        }
    }

    /// Loads `checkpoint` as `vqvae2 evaluate` does (see `CheckpointedReplica.load`) and writes its weights to
    /// `output` on rank 0; every rank loads, so the command behaves the same under mpirun. The ranks agree after
    /// every dataset whether `stop` asked any of them to stop; a stop ends every rank with `PhaseStopped` and
    /// leaves `output` as it was.
    @discardableResult
    package static func export(
        checkpoint: String, configPath: String?, overrides: [String], coordinator: Coordinator, output: String,
        overwrite: Bool, stop: StopRequest = .never
    ) throws -> (summary: Summary?, source: CheckpointedReplica) {
        if coordinator.isRoot && !overwrite && FileManager.default.fileExists(atPath: output) {
            // Before the load, which can take minutes at paper size.
            throw WeightExportError(path: output, "exists; pass --force to replace it")
        }
        let loaded = try CheckpointedReplica.load(
            checkpoint: checkpoint, configPath: configPath, overrides: overrides, coordinator: coordinator)
        // Only rank 0 writes; the others answer the stop agreements.
        let phase = StoppablePhase(
            "weight export", coordinator: coordinator, units: datasets(of: loaded.replica).count, stop: stop,
            left: "\(output) was not written (a file already there is untouched)")
        let summaries = try phase.run { () -> Summary? in
            guard coordinator.isRoot else { return nil }
            let stored = try Checkpoint(path: loaded.path)
            return try write(
                loaded.replica, to: output, step: loaded.replica.step, modelFingerprint: stored.manifest.modelFingerprint,
                overwrite: overwrite, afterEach: phase.unitDone)
        }
        return (summaries[coordinator.rank], loaded)
    }

    /// Creates the file at `path` and closes it (the `File` goes out of scope here); returns the values written.
    private static func writeDatasets(
        _ replica: Replica, to path: String, step: Int, modelFingerprint: String, config: String,
        failingWithNoSpace: Bool, afterEach: () throws -> Void
    ) throws -> Int {
        let file = try File(path: path, mode: .create)
        if failingWithNoSpace { try file.failWritesWithNoSpace() }
        let root = file.root
        try root.setAttribute("format_version", Int64(formatVersion))
        try root.setAttribute("step", Int64(step))
        try root.setAttribute("model_fingerprint", modelFingerprint)
        try root.setAttribute("config", config)
        try root.setAttribute("models", ModelPart.allCases.map(\.name).joined(separator: ","))
        var written = 0
        for part in ModelPart.allCases {
            let store = replica.stores[part]
            let group = try root.createGroup(part.name)
            for parameter in store.parameters {
                written += try writeDataset(
                    group, parameter.name, shape: parameter.shape,
                    UnsafeBufferPointer(start: store.value(parameter), count: parameter.count))
                try afterEach()
            }
        }
        let vqvae = try root.openGroup(ModelPart.vqvae.name)
        let k = replica.config.model.codebookSize, d = replica.config.model.codeDim
        for level in VQVAELevel.allCases {
            let group = try vqvae.createGroup(level.name)
            let codebook = UnsafeBufferPointer(replica.vqvae.quantizer(level).codebook)
            written += try writeDataset(group, "codebook", shape: [k, d], codebook)
            try afterEach()
        }
        try file.flush()
        return written
    }

    private static func writeDataset(_ group: Group, _ name: String, shape: [Int], _ values: UnsafeBufferPointer<Float>)
        throws -> Int
    {
        guard !name.contains("/"), !group.contains(name) else {
            throw WeightExportError(path: group.file.path, "dataset name '\(name)' in \(group.name) is not a unique leaf name")
        }
        let dataset = try group.createDataset(name, type: .float32, shape: shape)
        try dataset.writeRows(0, count: shape[0], from: values)
        return values.count
    }
}
