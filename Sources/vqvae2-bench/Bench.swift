import ArgumentParser

/// `vqvae2-bench`: speed of the numerical kernels beside OpenBLAS on the same matrix shapes.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vqvae2-bench",
        abstract: "Measure the numerical kernels against OpenBLAS sgemm on the same shapes.",
        subcommands: [ConvolutionBench.self, DataBench.self, TrainBench.self])
}
