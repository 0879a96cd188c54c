import Foundation
import HDF5
import ImageCodecs
import Numerics
import Storage

/// Settings of a conversion from an image folder or IDX files to shards.
package struct PrepareOptions: Sendable {
    package var source: String
    package var output: String
    package var imageSize: Int
    package var trainShards: Int
    package var heldoutShards: Int
    package var seed: UInt64
    package var validationLabels: String?
    package var validationClassOrder: String?
    /// The class names of an IDX source (required there, refused for a folder, which names its own).
    package var classNames: ClassNameSource?

    package init(
        source: String, output: String, imageSize: Int = 64, trainShards: Int = 4, heldoutShards: Int = 1,
        seed: UInt64 = 0, validationLabels: String? = nil, validationClassOrder: String? = nil,
        classNames: ClassNameSource? = nil
    ) {
        self.source = source
        self.output = output
        self.imageSize = imageSize
        self.trainShards = trainShards
        self.heldoutShards = heldoutShards
        self.seed = seed
        self.validationLabels = validationLabels
        self.validationClassOrder = validationClassOrder
        self.classNames = classNames
    }
}

/// One shard to write: which images go in, in which order.
package struct PlannedShard: Sendable {
    package var split: String
    package var index: Int
    package var of: Int
    package var images: [SourceImage]
    package var fileName: String { String(format: "%@-%05d-of-%05d.h5", split, index, of) }

    /// Identifies the shard's inputs, so that a re-run can tell a finished shard from a different plan's.
    func fingerprint(imageSize: Int) -> String {
        var crc = CRC32()
        crc.update(Array("\(imageSize)\n".utf8))
        for image in images { crc.update(Array("\(image.label) \(image.name)\n".utf8)) }
        return crc.hex
    }
}

/// What converting one shard produced.
package struct ShardOutcome: Codable, Sendable {
    package var split: String
    package var index: Int
    package var shard: ShardManifest.Shard
    package var skipped: [SkippedFile]
    /// True when a finished shard from an earlier run with the same plan was kept.
    package var reused: Bool

    package init(split: String, index: Int, shard: ShardManifest.Shard, skipped: [SkippedFile], reused: Bool) {
        self.split = split
        self.index = index
        self.shard = shard
        self.skipped = skipped
        self.reused = reused
    }
}

/// `vqvae2 prepare`: scan an ILSVRC2012-layout folder or read MNIST-family IDX files, deal the images into
/// class-balanced shards (deterministic for a seed), and convert each shard: decode, resize the shorter side with
/// anti-aliasing, centre-crop, write.
///
/// Ranks convert disjoint shards (shard i on rank i mod world size); corrupt files are skipped and reported.
package struct PrepareJob: Sendable {
    package let options: PrepareOptions
    package let source: any ImageSource
    package let shards: [PlannedShard]
    package var classes: [ImageClass] { source.classes }
    /// Files the scan passed over (not images, or unlabelled).
    package var scanSkipped: [SkippedFile] { source.skipped }

    /// Whether a shard finished by an earlier run of the same plan is kept rather than converted again.
    package let reuseFinishedShards: Bool

    package static let splits = ["train", "heldout"]

    package init(options: PrepareOptions, reuseFinishedShards: Bool = true) throws {
        self.reuseFinishedShards = reuseFinishedShards
        guard options.imageSize >= 8, options.imageSize % 8 == 0 else {
            throw SourceError(path: options.output, "image size \(options.imageSize) must be a positive multiple of 8")
        }
        guard options.trainShards >= 1, options.heldoutShards >= 1 else {
            throw SourceError(path: options.output, "need at least one train and one held-out shard")
        }
        self.options = options
        let source = try Self.openSource(options)
        self.source = source
        shards =
            Self.deal(source.train, into: options.trainShards, split: "train", seed: options.seed)
            + Self.deal(source.validation, into: options.heldoutShards, split: "heldout", seed: options.seed)
    }

    /// An IDX layout when the folder has one (it then needs class names), otherwise an ImageNet-layout folder.
    static func openSource(_ options: PrepareOptions) throws -> any ImageSource {
        if IDXSource.isLayout(options.source) {
            guard let names = options.classNames else {
                throw SourceError(
                    path: options.source,
                    "IDX files hold no class names: give --class-names fashion-mnist, numbers, or a file with one name per line")
            }
            return try IDXSource(root: options.source, classNames: names)
        }
        if options.classNames != nil {
            throw SourceError(
                path: options.source,
                "--class-names is for IDX sources; an ImageNet-layout folder names its classes in LOC_synset_mapping.txt")
        }
        return try ImageFolderSource(
            root: options.source, validationLabels: options.validationLabels,
            validationClassOrder: options.validationClassOrder)
    }

    /// Shuffles each class with a seeded stream and deals its images round-robin over the shards (continuing where
    /// the previous class stopped), then shuffles each shard: every shard holds every class in equal share (to one
    /// image), and the result depends only on the seed and the image list.
    static func deal(_ images: [SourceImage], into count: Int, split: String, seed: UInt64) -> [PlannedShard] {
        let splitKey: UInt64 = split == "train" ? 1 : 2
        var shards = (0..<count).map { PlannedShard(split: split, index: $0, of: count, images: []) }
        let byClass = Dictionary(grouping: images, by: \.label)
        var next = 0
        for label in byClass.keys.sorted() {
            var members = byClass[label]!.sorted()
            shuffle(&members, CounterRandom(seed: seed, purpose: .shardAssignment, keys: [splitKey, UInt64(label)]))
            for image in members {
                shards[next].images.append(image)
                next = (next + 1) % count
            }
        }
        for i in shards.indices { shuffle(&shards[i].images, CounterRandom(seed: seed, purpose: .shardOrder, keys: [splitKey, UInt64(i)])) }
        return shards
    }

    static func shuffle<T>(_ values: inout [T], _ random: CounterRandom) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(i, random.integer(UInt64(i), below: i + 1))
        }
    }

    /// The shards rank `rank` of `worldSize` converts.
    package func shards(forRank rank: Int, of worldSize: Int) -> [PlannedShard] {
        shards.enumerated().filter { $0.offset % worldSize == rank }.map(\.element)
    }

    package var manifestPath: String { options.output + "/" + ShardManifest.fileName }

    /// Converts one shard, or keeps it when a finished shard of the same plan is already there.
    /// `progress` is called after every image with the number of files handled so far; when it throws (a stop),
    /// the shard's partial file is removed and the error goes to the caller.
    package func convert(_ shard: PlannedShard, progress: (Int) throws -> Void = { _ in }) throws -> ShardOutcome {
        let path = options.output + "/" + shard.fileName
        let fingerprint = shard.fingerprint(imageSize: options.imageSize)
        if reuseFinishedShards, let kept = try reusable(path: path, fingerprint: fingerprint) {
            try progress(shard.images.count)
            return ShardOutcome(split: shard.split, index: shard.index, shard: kept.0, skipped: kept.1, reused: true)
        }
        let writer = try ImageShardWriter(
            path: path, imageSize: options.imageSize, classes: classes, source: options.source,
            attributes: ["split": shard.split, "plan_fingerprint": fingerprint])
        var skipped: [SkippedFile] = []
        for (handled, image) in shard.images.enumerated() {
            do {
                let decoded = try source.decode(image)
                try writer.append(pixels: resizeAndCenterCrop(decoded, to: options.imageSize), label: image.label)
            } catch let error as ImageCodecError {
                skipped.append(SkippedFile(path: image.name, reason: error.reason))
            }
            try progress(handled + 1)
        }
        let record = try writer.finish()
        try recordSkipped(skipped, in: path)
        return ShardOutcome(
            split: shard.split, index: shard.index, shard: try ShardManifest.Shard(describing: path, count: record.count), skipped: skipped,
            reused: false)
    }

    /// The skipped list travels in the shard so that a re-run that keeps the shard still reports it.
    private func recordSkipped(_ skipped: [SkippedFile], in path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // the same list must give the same bytes
        let json = String(decoding: try encoder.encode(skipped), as: UTF8.self)
        do {
            let file = try File(path: path, mode: .readWrite)
            try file.root.setAttribute("skipped", json)
            try file.flush()
        }
        try Durability.fsync(path)
    }

    private func reusable(path: String, fingerprint: String) throws -> (ShardManifest.Shard, [SkippedFile])? {
        guard FileManager.default.fileExists(atPath: path),
            let file = try? File(path: path, mode: .readOnly),
            (try? file.root.stringAttribute("plan_fingerprint")) == fingerprint,
            let skippedJSON = try? file.root.stringAttribute("skipped"),
            let skipped = try? JSONDecoder().decode([SkippedFile].self, from: Foundation.Data(skippedJSON.utf8)),
            let count = try? file.root.openDataset("labels").shape.first
        else { return nil }
        return (try ShardManifest.Shard(describing: path, count: count), skipped)
    }

    /// The manifest for all shards' outcomes (from every rank).
    package func manifest(outcomes: [ShardOutcome]) -> ShardManifest {
        var splits: [String: ShardManifest.Split] = [:]
        for split in Self.splits {
            let entries = outcomes.filter { $0.split == split }.sorted { $0.index < $1.index }.map(\.shard)
            splits[split] = ShardManifest.Split(shards: entries)
        }
        return ShardManifest(
            kind: .images, imageSize: options.imageSize, classes: classes, splits: splits, source: options.source,
            seed: options.seed, skipped: scanSkipped + outcomes.flatMap(\.skipped))
    }
}
