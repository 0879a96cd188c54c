import Foundation

/// Text for `vqvae2 checkpoint list|show`; the CLI prints these as they are.
package enum CheckpointReport {
    /// One line per directory under `root`: step, status, lease generation, world size, size and creation time;
    /// with `verify`, every committed checkpoint's shards and tensors are read against their checksums, and damaged
    /// ones say why.
    package static func list(root: String, verify: Bool = false) throws -> String {
        let entries = try CheckpointCatalog.entries(in: root)
        guard !entries.isEmpty else { return "no checkpoints in \(root)\n" }
        let choice = try CheckpointCatalog.resumeChoice(in: root)
        var lines = [
            "checkpoints in \(root) (--resume auto loads the first of the highest lease generation, newest step first, whose shards verify):"
        ]
        for entry in entries {
            switch entry.status {
            case .committed(let manifest):
                let megabytes = Double(manifest.shards.map(\.bytes).reduce(0, +)) / 1e6
                let size = String(format: "%.1f MB", megabytes)
                var state = "committed"
                if verify {
                    do {
                        try Checkpoint(path: entry.path).verify()
                        state = "committed, verified"
                    } catch {
                        state = "DAMAGED (\(error))"
                    }
                }
                if choice.fenced.contains(entry) { state += ", fenced (written after a newer lease generation took over)" }
                lines.append(
                    "  \(entry.name)  \(state)  step \(manifest.step)  generation \(entry.generation!)  \(manifest.worldSize) shard(s)  \(size)  \(manifest.created)")
            case .uncommitted:
                lines.append("  \(entry.name)  uncommitted (an interrupted save; never loaded)")
            case .invalid(let reason):
                lines.append("  \(entry.name)  invalid: \(reason)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The manifest's summary and every tensor's name, shape, shard and checksum.
    package static func show(_ checkpoint: Checkpoint) -> String {
        let manifest = checkpoint.manifest
        let metadata = manifest.metadata
        var lines = [
            "checkpoint \(checkpoint.path)",
            "  step \(manifest.step), written by \(manifest.worldSize) rank(s) at \(manifest.created), format \(manifest.formatVersion)",
            "  model fingerprint \(manifest.modelFingerprint)",
            "  data position: epoch \(metadata.dataEpoch), sample \(metadata.dataSampleInEpoch) of the epoch (global)",
            "  lease generation \(metadata.leaseGeneration ?? 0)",
            "  vector variant \(metadata.vectorVariant ?? "not recorded (computed as the baseline does)")",
        ]
        for (label, values) in [("optimizer steps", metadata.optimizerSteps), ("EMA updates", metadata.emaUpdates)] where !values.isEmpty {
            lines.append("  \(label): " + values.keys.sorted().map { "\($0)=\(values[$0]!)" }.joined(separator: ", "))
        }
        if !metadata.scalars.isEmpty {
            lines.append("  scalars: " + metadata.scalars.keys.sorted().map { "\($0)=\(metadata.scalars[$0]!)" }.joined(separator: ", "))
        }
        if !metadata.extras.isEmpty {
            lines.append("  extras: " + metadata.extras.keys.sorted().map { "\($0)=\(metadata.extras[$0]!)" }.joined(separator: ", "))
        }
        lines.append("  shards:")
        for shard in manifest.shards { lines.append("    \(shard.file)  \(shard.bytes) bytes  crc32 \(shard.crc32)") }
        lines.append("  tensors (h5dump -d /NAME SHARD):")
        let width = manifest.tensors.map(\.name.count).max() ?? 0
        for tensor in manifest.tensors {
            let name = tensor.name.padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append("    \(name)  \(tensor.shape)  \(manifest.shards[tensor.shard].file)  crc32 \(tensor.crc32)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
