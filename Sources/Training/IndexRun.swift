import Coordination
import DataPipeline
import Foundation

/// `vqvae2 index` on every rank of the job: a manifest for HDF5 shards that are already there, nothing moved or
/// rewritten. Shard i is checked on rank i mod world, first its structure, labels and one chunk (`ShardCheck`),
/// then, once the set as a whole passed (`ShardIndex`), the CRC-32 of all its bytes. Rank 0 writes the manifest
/// after every rank's shards passed; a failure on any rank fails every rank, and nothing is written.
package struct IndexRun {
    package let options: IndexOptions
    /// Replace a manifest that is already there.
    package let force: Bool

    package init(options: IndexOptions, force: Bool) {
        self.options = options
        self.force = force
    }

    /// What every rank must see alike before checking: the selected files and the names file.
    private struct SetUp: Codable, Equatable {
        var selection: ShardSelection
        var namesFile: ClassNames?
    }

    /// One rank's checksums and the seconds they took.
    private struct Checksums: Codable {
        var entries: [ShardManifest.Shard]
        var seconds: Double
    }

    /// Checks and indexes; rank 0 prints the report through `out`. Returns the manifest on rank 0 (nil on the
    /// others). The ranks agree after every shard whether `stop` asked any of them to stop; a stop ends every rank
    /// with `PhaseStopped` and no manifest written.
    @discardableResult
    package func run(
        coordinator: Coordinator, stop: StopRequest = .never, out: @escaping (String) -> Void
    ) throws -> ShardManifest? {
        let manifestPath = options.manifestPath
        let setUps = try Self.badInputOnEveryRank { try coordinator.agree("index: set-up") { () -> SetUp in
            if coordinator.isRoot, !force, FileManager.default.fileExists(atPath: manifestPath) {
                throw ShardError(
                    file: manifestPath, "already exists; nothing was checked or written (--force replaces it)")
            }
            return SetUp(
                selection: try ShardSelection(directory: options.directory, patterns: options.patterns),
                namesFile: try options.classNamesFile.map { try ClassNames(file: $0) })
        } }
        let setUp = setUps[0]
        if let rank = setUps.firstIndex(where: { $0 != setUp }) {
            throw ShardError(
                file: options.directory,
                "rank \(rank) sees other files or class names than rank 0: the folder must be on a filesystem every rank shares")
        }
        let selection = setUp.selection, files = selection.files
        let ranks = coordinator.worldSize
        let mine = selection.positions(forRank: coordinator.rank, of: ranks)
        // Rank 0 has the most shards: ceil(files / ranks).
        let busiest = selection.positions(forRank: 0, of: ranks).count
        let left = "no manifest was written"
        if coordinator.isRoot {
            let counts = selection.splits.map { "\($0.files.count) \($0.name)" }.joined(separator: ", ")
            out("index: \(counts) shard(s) in \(options.directory) on \(ranks) rank(s): checking each, then the CRC-32 of every byte")
        }

        let checking = StoppablePhase("index: checks", coordinator: coordinator, units: busiest, stop: stop, left: left)
        let checked = try Self.badInputOnEveryRank { try checking.run { () -> [ShardCheck] in
            try mine.map { position in
                let check = try ShardCheck(
                    directory: selection.directory, file: files[position], names: options.names,
                    classCount: setUp.namesFile?.names.count)
                try checking.unitDone()
                return check
            }
        } }
        let index = try ShardIndex(
            selection: selection, checks: Self.dealtBack(checked, count: files.count), names: options.names,
            namesFile: setUp.namesFile)
        if coordinator.isRoot {
            for (text, shards) in index.warnings { out("warning: \(Self.list(shards)): \(text)") }
        }

        let summing = StoppablePhase("index: checksums", coordinator: coordinator, units: busiest, stop: stop, left: left)
        let progress = ChecksumProgress(shards: mine.count, out: coordinator.isRoot ? out : nil)
        let summed = try summing.run { () -> Checksums in
            let start = Date()
            let entries = try mine.map { position in
                let entry = try ShardManifest.Shard(
                    describing: selection.directory + "/" + files[position], count: index.checks[position].count)
                progress.shardDone(bytes: entry.bytes)
                try summing.unitDone()
                return entry
            }
            return Checksums(entries: entries, seconds: Date().timeIntervalSince(start))
        }
        let manifest = index.manifest(entries: Self.dealtBack(summed.map(\.entries), count: files.count))
        _ = try coordinator.agree("index: writing the manifest") { () -> Bool in
            if coordinator.isRoot { try manifest.save(manifestPath) }
            return true
        }
        guard coordinator.isRoot else { return nil }
        report(index, manifest: manifest, checksums: summed, out: out)
        return manifest
    }

    /// Runs a phase whose every failure is bad input (a `ShardError`): on the ranks whose own shards passed too, so
    /// that every rank exits with the status of bad input, which launch/mpirun.sh never restarts.
    private static func badInputOnEveryRank<T>(_ phase: () throws -> T) throws -> T {
        do { return try phase() } catch let failure as CoordinationError {
            throw BadShardsElsewhere(failure: failure)
        }
    }

    /// Every rank's results, rank r's k-th for position r + k * ranks, back in position order.
    private static func dealtBack<T>(_ perRank: [[T]], count: Int) -> [T] {
        var all = [T?](repeating: nil, count: count)
        for (rank, results) in perRank.enumerated() {
            for (k, result) in results.enumerated() { all[rank + k * perRank.count] = result }
        }
        return all.map { $0! }
    }

    private static func list(_ files: [String]) -> String {
        files.count == 1 ? files[0] : files.prefix(3).joined(separator: ", ") + (files.count > 3 ? ", ..." : "")
            + " (\(files.count) shards)"
    }

    private func report(_ index: ShardIndex, manifest: ShardManifest, checksums: [Checksums], out: (String) -> Void) {
        for split in index.selection.splits {
            out("  \(split.name): \(manifest.splits[split.name]?.count ?? 0) images in \(split.files.count) shard(s)")
        }
        let names = index.names
        out("  images: \(index.imageSize)x\(index.imageSize) RGB in dataset '\(names.images)', labels in '\(names.labels)'; "
            + "\(index.classNames.names.count) classes, named by \(index.classNames.origin)")
        let bytes = checksums.flatMap(\.entries).reduce(0) { $0 + $1.bytes }
        let wall = max(checksums.map(\.seconds).max() ?? 0, 1e-6)
        let perRank = checksums.compactMap { $0.seconds > 0 ? Double($0.entries.reduce(0) { $0 + $1.bytes }) / $0.seconds : nil }
        let rate = perRank.isEmpty ? 0 : perRank.reduce(0, +) / Double(perRank.count)
        out(String(
            format: "  CRC-32 of every byte of every shard: %.1f MB in %.2f s, %.0f MB/s per rank (ranks split the shards)",
            Double(bytes) / 1e6, wall, rate / 1e6))
        out("  manifest: \(options.manifestPath)")
        out("  train with data.manifest: \(options.manifestPath) and model.image_size: \(index.imageSize) (the manifest "
            + "records the dataset names, which training reads from it)")
    }
}

/// Shards or index options that failed their checks on other ranks: bad input, as on the ranks that found it.
package struct BadShardsElsewhere: CollectiveFailure, CustomStringConvertible {
    package let failure: CoordinationError
    package var isBadInput: Bool { true }
    package var description: String { "\(failure)" }
}

/// Rank 0's checksum progress, at most every two seconds: the long part of indexing a large set.
final class ChecksumProgress {
    private let shards: Int
    private let out: ((String) -> Void)?
    private var done = 0
    private var bytes = 0
    private let start = Date()
    private var lastPrint = Date()

    init(shards: Int, out: ((String) -> Void)?) {
        self.shards = shards
        self.out = out
    }

    func shardDone(bytes: Int) {
        done += 1
        self.bytes += bytes
        guard let out, Date().timeIntervalSince(lastPrint) >= 2, done < shards else { return }
        lastPrint = Date()
        let elapsed = max(Date().timeIntervalSince(start), 1e-3)
        out(String(
            format: "index: rank 0 checksummed %d/%d shards, %.0f MB/s", done, shards, Double(bytes) / elapsed / 1e6))
    }
}
