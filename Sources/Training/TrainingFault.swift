import Foundation

/// Faults that tests plant in a real training job through the environment (the launcher forwards `VQVAE2_*`
/// variables to every rank):
///
/// - `VQVAE2_TRAIN_FAULT=diverge:R@S`: after step S, rank R nudges one value of `top_prior/parameters`, as a bug or
///   a bit flip would; the next replica check must stop the job naming that tensor.
/// - `VQVAE2_TRAIN_FAULT=exit:R@S`: after step S, rank R exits with status 7 without a word to the others.
/// - `VQVAE2_TRAIN_FAULT=kill:R@S`: after step S, rank R sends itself SIGKILL.
struct TrainingFault {
    enum Kind: String { case diverge, exit, kill }

    let kind: Kind
    let rank: Int
    let step: Int

    static let variable = "VQVAE2_TRAIN_FAULT"

    /// The planted fault, if the variable holds a valid one.
    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> TrainingFault? {
        guard let value = environment[variable] else { return nil }
        let parts = value.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])) else { return nil }
        let place = parts[1].split(separator: "@")
        guard place.count == 2, let rank = Int(place[0]), let step = Int(place[1]) else { return nil }
        return TrainingFault(kind: kind, rank: rank, step: step)
    }

    /// Fires after step `step` (1-based count of completed steps) on rank `rank`.
    func fire(afterStep completed: Int, rank: Int, replica: Replica) {
        guard rank == self.rank, completed == step else { return }
        FileHandle.standardError.write(Data("rank \(rank): planted fault \(kind.rawValue) after step \(completed) (\(Self.variable))\n".utf8))
        switch kind {
        case .diverge: replica.stores.topPrior.values[0] += 1e-3
        case .exit: exit(7)
        case .kill: kill(getpid(), SIGKILL)
        }
    }
}
