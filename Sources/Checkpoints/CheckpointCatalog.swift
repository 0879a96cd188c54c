import Coordination
import Foundation

/// What lies under a checkpoint root: committed checkpoints, and the directories that are not (interrupted saves).
package enum CheckpointCatalog {
    /// One directory under the root.
    package struct Entry: Equatable, Sendable {
        package enum Status: Equatable, Sendable {
            case committed(Manifest)
            /// An interrupted or in-progress save (`.tmp-*`), or a step directory without a manifest.
            case uncommitted
            /// A step directory whose manifest does not parse or check (the reason names the field).
            case invalid(String)
        }

        package let name: String
        package let path: String
        package let status: Status

        /// The step of a committed checkpoint.
        package var step: Int? {
            if case .committed(let manifest) = status { return manifest.step }
            return nil
        }

        /// The lease generation a committed checkpoint was written under (0 for checkpoints from before leases).
        package var generation: Int? {
            if case .committed(let manifest) = status { return manifest.metadata.leaseGeneration ?? 0 }
            return nil
        }
    }

    /// What `--resume auto` may load, best first, and what it must not.
    package struct ResumeChoice: Equatable, Sendable {
        /// Committed checkpoints in the order to try: highest lease generation first, newest step first within one.
        package var candidates: [Entry]
        /// Committed checkpoints of an older generation with a later step than a checkpoint of a newer one: written
        /// by a job after another had taken its lease over, so not part of the run that continues.
        package var fenced: [Entry]
        /// Step directories whose manifest does not parse or check.
        package var invalid: [Entry]
    }

    /// Sorts what is under `root` for `--resume auto` (shards are verified when a candidate is loaded).
    package static func resumeChoice(in root: String) throws -> ResumeChoice {
        let all = try entries(in: root)
        let committed = all.filter { $0.step != nil }
        let fenced = committed.filter { old in
            committed.contains { $0.generation! > old.generation! && $0.step! < old.step! }
        }
        let candidates = committed.filter { entry in !fenced.contains(entry) }
            .sorted { ($0.generation!, $0.step!) > ($1.generation!, $1.step!) }
        let invalid = all.filter { if case .invalid = $0.status { return true } else { return false } }
        return ResumeChoice(candidates: candidates, fenced: fenced, invalid: invalid)
    }

    /// Every `step-*` directory under `root`, committed ones in step order first; an absent root has none.
    package static func entries(in root: String) throws -> [Entry] {
        guard FileManager.default.fileExists(atPath: root) else { return [] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: root) } catch {
            throw CheckpointError.io(path: root, "cannot list the checkpoint directory: \(error)")
        }
        let entries = names.filter { $0.hasPrefix("step-") }.sorted().map { name -> Entry in
            let path = CheckpointLayout.join(root, name)
            let manifest = CheckpointLayout.join(path, CheckpointLayout.manifestName)
            guard let step = CheckpointLayout.step(ofDirectory: name), FileManager.default.fileExists(atPath: manifest)
            else { return Entry(name: name, path: path, status: .uncommitted) }
            do {
                let contents = try Manifest.read(manifest)
                guard contents.step == step else {
                    return Entry(name: name, path: path, status: .invalid("\(manifest): step \(contents.step) in a directory named for \(step)"))
                }
                return Entry(name: name, path: path, status: .committed(contents))
            } catch {
                return Entry(name: name, path: path, status: .invalid("\(error)"))
            }
        }
        return entries.filter { $0.step != nil }.sorted { $0.step! < $1.step! } + entries.filter { $0.step == nil }
    }

    /// Committed checkpoints, oldest first.
    package static func committed(in root: String) throws -> [Entry] { try entries(in: root).filter { $0.step != nil } }

    /// Moves a checkpoint of `step` written under a generation older than `generation`, or whose manifest does not
    /// read, out of the way of this job's save of the same step (which would otherwise keep it as already saved),
    /// under a temporary's name that is never loaded and that a later commit's rotation removes. Returns what it
    /// did, nil if nothing. Reads only that step's manifest: it runs before every save.
    package static func setAsideFenced(step: Int, in root: String, below generation: Int) throws -> String? {
        let path = CheckpointLayout.join(root, CheckpointLayout.directoryName(step: step))
        let manifest = CheckpointLayout.join(path, CheckpointLayout.manifestName)
        guard FileManager.default.fileExists(atPath: manifest) else { return nil }
        let older = (try? Manifest.read(manifest)).map { $0.metadata.leaseGeneration ?? 0 }
        if let older, older >= generation { return nil }
        let aside = CheckpointLayout.join(
            root, CheckpointLayout.temporaryName(step: step, nonce: "fenced-g\(older.map(String.init) ?? "unknown")"))
        guard rename(path, aside) == 0 else {
            throw CheckpointError.io(path: path, "cannot move the fenced checkpoint aside: \(String(cString: strerror(errno)))")
        }
        let why = older.map { "was written under lease generation \($0), not this job's \(generation)" } ?? "has a manifest that does not read"
        return "\(path) \(why); moved to \(aside) and saved again"
    }

    /// The first candidate of `resumeChoice` (shards are checked when it is loaded), or nil when there is none.
    /// Temporaries and directories without a manifest are never candidates.
    package static func latestCommitted(in root: String) throws -> String? {
        try resumeChoice(in: root).candidates.first?.path
    }
}

extension CheckpointCatalog {
    /// `resumeChoice` as rank 0 finds it, on every rank: the candidates' paths in order, and one warning line per
    /// fenced or invalid directory. A collective, so that every rank tries the same checkpoints, and a failure to
    /// look fails every rank.
    package static func resumeCandidates(in root: String, coordinator: Coordinator) throws -> (paths: [String], warnings: [String]) {
        let found = try coordinator.agree("finding the checkpoints in \(root)") { () -> [[String]] in
            guard coordinator.isRoot else { return [[], []] }
            let choice = try resumeChoice(in: root)
            let newest = choice.candidates.first
            let warnings = choice.fenced.map { entry in
                "\(entry.path) is fenced: written under lease generation \(entry.generation!), after generation "
                    + "\(newest?.generation ?? 0) had taken the directory over; not resumed from"
            } + choice.invalid.map { entry -> String in
                guard case .invalid(let reason) = entry.status else { return "" }
                return "\(entry.path) is skipped: \(reason)"
            }
            return [choice.candidates.map(\.path), warnings]
        }[0]
        return (found[0], found[1])
    }

    /// The first candidate of `resumeCandidates`, on every rank (nil: there is none).
    package static func latestCommitted(in root: String, coordinator: Coordinator) throws -> String? {
        try resumeCandidates(in: root, coordinator: coordinator).paths.first
    }
}
