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

    /// The newest directory with a valid manifest (shards are checked when it is loaded), or nil when there is none.
    /// Temporaries and directories without a manifest are never candidates.
    package static func latestCommitted(in root: String) throws -> String? { try committed(in: root).last?.path }
}

extension CheckpointCatalog {
    /// The newest committed checkpoint under `root` as rank 0 finds it, on every rank (nil: there is none); a
    /// collective, so that every rank resumes from the same one, and a failure to look fails every rank.
    package static func latestCommitted(in root: String, coordinator: Coordinator) throws -> String? {
        let found = try coordinator.agree("finding the newest checkpoint in \(root)") { () -> String in
            coordinator.isRoot ? try latestCommitted(in: root) ?? "" : ""
        }
        return found[0].isEmpty ? nil : found[0]
    }
}
