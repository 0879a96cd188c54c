import ArgumentParser

/// A subcommand whose implementation has not landed yet: it says so and which issue brings it.
protocol PlannedCommand: ParsableCommand {
    static var arrivesWith: String { get }
}

extension PlannedCommand {
    func run() throws {
        throw ValidationError(
            "`vqvae2 \(Self.configuration.commandName ?? "")` is not available in this build yet (\(Self.arrivesWith)).")
    }
}

struct EvaluateCommand: PlannedCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate", abstract: "Evaluate a checkpoint on the held-out shard.")
    static let arrivesWith = "the evaluation issue"
}

struct SampleCommand: PlannedCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Draw class-conditional samples from a checkpoint's priors.")
    static let arrivesWith = "the evaluation issue"
}

struct CheckpointCommand: PlannedCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint", abstract: "List, verify and inspect sharded checkpoints.")
    static let arrivesWith = "the checkpoints issue"
}
