import ArgumentParser

@main
struct VQVAE2: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vqvae2",
        abstract: "Data-parallel VQ-VAE-2 training over MPI ranks.",
        discussion: """
            Every subcommand runs the same way on one process or under mpirun; use launch/mpirun.sh to start \
            N ranks on this machine (-n N) or on the nodes of a hostfile (--hostfile FILE).

            Check an installation first:
              launch/mpirun.sh -n 2 .build/release/vqvae2 env
            """,
        subcommands: [
            EnvCommand.self, PrepareCommand.self, IndexCommand.self, TrainCommand.self, EvaluateCommand.self, SampleCommand.self,
            CheckpointCommand.self, ExtractCodesCommand.self,
        ])
}
