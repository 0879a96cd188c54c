import Foundation

/// The run directory's record of automatic restarts (`restarts.jsonl`, one JSON object per line, rank 0 only):
/// when, why, at which world size, and from which step the job continued.
package struct RestartRecord: Codable, Equatable, Sendable {
    /// ISO 8601, UTC.
    package var time: String
    /// 1 for the first restart.
    package var restart: Int
    /// What ended the previous attempt, as launch/mpirun.sh saw it.
    package var cause: String
    package var worldSize: Int
    package var firstWorldSize: Int
    package var microBatches: Int
    /// The step resumed from (0: no checkpoint yet, a fresh start).
    package var resumedStep: Int
    package var resumedFrom: String?

    package init(
        time: String, restart: Int, cause: String, worldSize: Int, firstWorldSize: Int, microBatches: Int,
        resumedStep: Int, resumedFrom: String?
    ) {
        self.time = time
        self.restart = restart
        self.cause = cause
        self.worldSize = worldSize
        self.firstWorldSize = firstWorldSize
        self.microBatches = microBatches
        self.resumedStep = resumedStep
        self.resumedFrom = resumedFrom
    }

    enum CodingKeys: String, CodingKey {
        case time, restart, cause
        case worldSize = "world_size"
        case firstWorldSize = "first_world_size"
        case microBatches = "micro_batches"
        case resumedStep = "resumed_step"
        case resumedFrom = "resumed_from"
    }

    /// Appends the record to `runDirectory`/restarts.jsonl.
    package func append(to runDirectory: String) throws {
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        let path = (runDirectory as NSString).appendingPathComponent("restarts.jsonl")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(self)
        line.append(0x0A)
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw TrainingSetupError("\(path): cannot create the restart log")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TrainingSetupError("\(path): cannot open the restart log") }
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(line)
    }
}
