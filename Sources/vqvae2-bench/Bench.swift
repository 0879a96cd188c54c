import ArgumentParser

/// `vqvae2-bench`: speed of the kernels, the data pipeline, checkpoints and whole training steps.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vqvae2-bench",
        abstract: "Measure kernels against OpenBLAS sgemm, the data pipeline, checkpoints, training steps, sampling, vector variants, threads and the all-reduce.",
        subcommands: [
            ConvolutionBench.self, DataBench.self, CheckpointBench.self, TrainBench.self, SampleBench.self, VectorBench.self,
            ThreadBench.self, AllReduceBench.self,
        ])
}
