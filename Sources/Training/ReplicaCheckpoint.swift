import Checkpoints
import DataPipeline
import Foundation
import Model
import Storage

/// How a replica's state maps onto a checkpoint: tensor names and shapes, the scalars in the metadata, and the
/// fingerprint that tells a checkpoint of this model from another model's.
extension Replica {
    /// The state as named, shaped tensors (views of the replica's own buffers: loading fills them in place).
    package var checkpointTensors: [StateTensor] {
        let k = config.model.codebookSize, d = config.model.codeDim
        return stateTensors.map { tensor in
            let shape: [Int]
            if tensor.name.hasSuffix("/codebook") || tensor.name.hasSuffix("/ema_sums") {
                shape = [k, d]
            } else {
                shape = [tensor.values.count]
            }
            return StateTensor(name: tensor.name, shape: shape, buffer: tensor.values)
        }
    }

    /// Identifies the model: its architecture (not the training settings, so a resumed run may change the batch,
    /// the learning rate or the step budget, but not the network).
    package func fingerprint(classes: Int) -> String {
        let text = "vqvae \(config.model)\ntop \(topPrior.config)\nbottom \(bottomPrior.config)\nclasses \(classes)"
        var crc = CRC32()
        crc.update(Array(text.utf8))
        return "crc32:\(crc.hex) params:\(stores.all.map { String($0.count) }.joined(separator: ","))"
    }

    /// Identifies the VQ-VAE's current weights and codebooks: code shards record it, and priors trained on them
    /// remember it, so that priors are never paired with a VQ-VAE whose codes they did not learn.
    package var vqvaeFingerprint: String {
        var crc = CRC32()
        for tensor in stateTensors where tensor.name == "\(ModelPart.vqvae.name)/parameters" || tensor.name.hasSuffix("/codebook") {
            crc.update(UnsafeRawBufferPointer(tensor.values))
        }
        return "vqvae-weights-crc32:\(crc.hex)"
    }

    /// The scalar state at `position` (the next sample to read).
    package func checkpointMetadata(position: DataPosition) -> CheckpointMetadata {
        var optimizerSteps: [String: Int] = [:]
        for part in ModelPart.allCases { optimizerSteps[part.name] = optimizers[part].step }
        return CheckpointMetadata(
            step: step, dataEpoch: position.epoch, dataSampleInEpoch: position.sampleInEpoch,
            optimizerSteps: optimizerSteps,
            emaUpdates: Dictionary(uniqueKeysWithValues: VQVAELevel.allCases.map {
                ("vqvae/\($0.name)", vqvae.quantizer($0).updateCount)
            }),
            extras: [
                "codebooks_initialized": vqvae.top.isInitialized && vqvae.bottom.isInitialized ? "true" : "false",
                "schedule": config.train.schedule.rawValue,
            ].merging(priorCodesFingerprint.map { ["prior_codes_vqvae": $0] } ?? [:]) { $1 })
    }

    /// Restores the scalars of `metadata` (the tensors are filled by the load itself); returns the data position.
    package func restore(_ metadata: CheckpointMetadata) -> DataPosition {
        step = metadata.step
        for part in ModelPart.allCases { optimizers[part].step = metadata.optimizerSteps[part.name] ?? 0 }
        let initialized = metadata.extras["codebooks_initialized"] == "true"
        for level in VQVAELevel.allCases {
            vqvae.quantizer(level).updateCount = metadata.emaUpdates["vqvae/\(level.name)"] ?? 0
            vqvae.quantizer(level).isInitialized = initialized
        }
        priorCodesFingerprint = metadata.extras["prior_codes_vqvae"]
        return DataPosition(epoch: metadata.dataEpoch, sampleInEpoch: metadata.dataSampleInEpoch)
    }
}
