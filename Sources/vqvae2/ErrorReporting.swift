import ArgumentParser
import Foundation
import MPI
import Training

/// Runs `body` and turns an error into one message and a quick end of the job.
///
/// An error every rank meets alike (config, data layout, NaN, divergence: `CollectiveFailure`) is printed once, by
/// rank 0, and the ranks leave together (`Collective.exitTogether`). A rank that fails alone prints its own
/// message and aborts the job (MPI_Abort), since the other ranks may be waiting for it in a collective. Either
/// way the launcher gets a note (`LaunchReport`), so that it need not wait for mpirun's slow teardown. Bad input
/// (`CollectiveFailure.isBadInput`) exits with status 2, which launch/mpirun.sh --max-restarts never retries;
/// every other failure with 1. `beforePrinting` lets a command flush its console first.
func reportingErrors(
    _ world: any Collective, command: String = "vqvae2", beforePrinting: () -> Void = {}, _ body: () throws -> Void
) {
    do {
        try body()
    } catch {
        let message = "\(command): \(error)"
        // What a rank prints once Open MPI's teardown has begun is not relayed: the launcher prints it instead.
        var relayed = false
        func print() {
            beforePrinting()
            relayed = !TeardownWatch.noticed
            FileHandle.standardError.write(Data((message + "\n").utf8))
        }
        if let shared = error as? CollectiveFailure {
            if world.isRoot { print() }
            world.exitTogether(
                status: shared.isBadInput ? badInputStatus : ExitCode.failure.rawValue, message: message, printed: relayed)
            if !world.isRoot { print() }
        } else {
            print()
        }
        LaunchReport.noteFailure(rank: world.rank, "rank \(world.rank): \(message)", printed: relayed)
        world.abort(code: ExitCode.failure.rawValue)
    }
}

/// The exit status of an error in the job's input (a config value, the data, a checkpoint that does not fit).
let badInputStatus: Int32 = 2
