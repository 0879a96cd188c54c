import Model

extension ExperimentConfig {
    /// The model's settings as config text, every key of `model`, `top_prior` and `bottom_prior` written out, and
    /// nothing about data, runs or checkpoints: what a weight export records, so that identical states export
    /// identical bytes wherever they were trained. `ExperimentConfig.parse` reads it back.
    package var modelSectionsText: String {
        let m = model, t = topPrior, b = bottomPrior
        func prior(_ p: PriorConfig) -> [String] {
            [
                "  channels: \(p.channels)", "  residual_units: \(p.residualUnits)", "  layers: \(p.layers)", "  first_kernel: \(p.firstKernel)",
                "  kernel: \(p.kernel)", "  dropout: \(p.dropout)", "  output_layers: \(p.outputLayers)",
            ]
        }
        let lines =
            [
                "model:", "  image_size: \(m.imageSize)", "  channels: \(m.channels)",
                "  residual_channels: \(m.residualChannels)", "  residual_blocks: \(m.residualBlocks)",
                "  codebook_size: \(m.codebookSize)", "  code_dim: \(m.codeDim)", "  beta: \(m.beta)",
                "  ema_decay: \(m.emaDecay)", "  ema_epsilon: \(m.emaEpsilon)",
                "  dead_code_threshold: \(m.deadCodeThreshold)", "  restart_dead_codes: \(m.restartDeadCodes)",
                "  restart_interval: \(m.restartInterval)", "top_prior:",
            ] + prior(t) + ["  attention_every: \(t.attentionEvery)", "  heads: \(t.heads)", "bottom_prior:"] + prior(b)
            + ["  conditioning_layers: \(b.conditioningLayers)", "  conditioning_channels: \(b.conditioningChannels)"]
        return lines.joined(separator: "\n") + "\n"
    }
}
