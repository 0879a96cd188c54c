import ArgumentParser
import Foundation
import MPI
import Training

/// Runs `body` and turns an error into one message and a non-zero exit. An error every rank meets alike (config,
/// data layout, NaN, divergence: `CollectiveFailure`) is printed once, by rank 0; a rank that fails alone prints
/// its own, and mpirun then ends the others. `beforePrinting` lets a command flush its console first.
func reportingErrors(
    _ world: any Collective, command: String = "vqvae2", beforePrinting: () -> Void = {}, _ body: () throws -> Void
) throws {
    do {
        try body()
    } catch {
        if world.isRoot || !(error is CollectiveFailure) {
            beforePrinting()
            FileHandle.standardError.write(Data("\(command): \(error)\n".utf8))
        }
        throw ExitCode.failure
    }
}
