import ArgumentParser
import Coordination
import Training

/// The options every tool that reads a trained model shares.
struct ModelOptions: ParsableArguments {
    @Option(help: "A committed checkpoint (runs/demo/checkpoints/step-00000300), or auto for the newest one in the config's checkpoints.directory.")
    var checkpoint: String = "auto"

    @Option(help: "The experiment config (default: the one saved in the checkpoint; required with --checkpoint auto).")
    var config: String?

    @Option(name: .customLong("set"), help: "Override a config value: section.key=value (repeatable).")
    var overrides: [String] = []

    /// The checkpoint these options name, loaded on every rank.
    func load(_ coordinator: Coordinator) throws -> CheckpointedReplica {
        try CheckpointedReplica.load(
            checkpoint: checkpoint, configPath: config, overrides: overrides, coordinator: coordinator)
    }
}
