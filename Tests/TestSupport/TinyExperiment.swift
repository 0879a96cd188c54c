import Foundation

/// The tiny experiment the end-to-end tests run: demo images of 16 pixels, a VQ-VAE of 16 channels with 32 codes
/// of 8 dimensions, and priors of two gated layers (the top one with attention after every layer). Keys it omits take
/// the paper's defaults where those are cheap at this size (two residual blocks, beta, EMA settings, dropout 0.1).
package enum TinyExperiment {
    /// The model sections of the config.
    package static let modelSections = """
        model:
          image_size: 16
          channels: 16
          residual_channels: 8
          codebook_size: 32
          code_dim: 8
        top_prior:
          channels: 16
          residual_units: 16
          layers: 2
          first_kernel: 3
          kernel: 3
          output_layers: 2
          attention_every: 1
          heads: 2
        bottom_prior:
          channels: 16
          residual_units: 16
          layers: 2
          first_kernel: 3
          kernel: 3
          output_layers: 2
          conditioning_layers: 1
          conditioning_channels: 16
        """

    /// Draws and converts the demo images into `directory`/data: `classes` classes of `perClass` training images
    /// (and `perClass / 4` held-out ones), at 16 pixels.
    package static func prepareData(in directory: URL, classes: Int = 4, perClass: Int = 8, shards: Int = 2) throws
        -> ProcessResult
    {
        try TestEnvironment.run([
            TestEnvironment.product("vqvae2"), "prepare", "--demo", directory.path + "/src", "--output",
            directory.path + "/data", "--image-size", "16", "--demo-classes", String(classes), "--demo-train-per-class",
            String(perClass), "--demo-val-per-class", String(max(perClass / 4, 1)), "--train-shards", String(shards),
        ])
    }

    /// Writes a complete config for the data, runs, codes and checkpoints under `directory` and returns its path.
    /// Periodic checkpoints, evaluations and pictures are off; a run saves, evaluates and draws at its end.
    package static func writeConfig(
        in directory: URL, globalBatch: Int = 8, steps: Int = 5, checkEvery: Int = 2, extra: String = ""
    ) throws -> String {
        let path = directory.appendingPathComponent("tiny-\(UUID().uuidString.prefix(6)).yaml").path
        try """
            \(modelSections)
            data:
              manifest: \(directory.path)/data/manifest.json
              codes_manifest: \(directory.path)/codes/manifest.json
            train:
              global_batch: \(globalBatch)
              steps: \(steps)
              learning_rate: 1e-3
            intervals:
              log_every: 1
              check_every: \(checkEvery)
              checkpoint_every: 0
              evaluate_every: 0
              pictures_every: 0
            run:
              directory: \(directory.path)/run
            checkpoints:
              directory: \(directory.path)/checkpoints
            \(extra)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
