import Foundation
import ImageCodecs

/// An image collection in the ILSVRC2012 layout: `train/<wnid>/*.JPEG`, and `val/` either with class folders or
/// flat with a ground-truth file; class names from `LOC_synset_mapping.txt` when present.
package struct ImageFolderSource: ImageSource {
    package let root: String
    package let classes: [ImageClass]
    package let train: [SourceImage]
    package let validation: [SourceImage]
    /// Files that are not images by name, or validation files without a label.
    package let skipped: [SkippedFile]

    static let imageExtensions: Set<String> = ["jpeg", "jpg", "png"]

    /// Scans `root`. `validationLabels` names a ground-truth file for a flat `val/` (default: LOC_val_solution.csv
    /// or ILSVRC2012_validation_ground_truth.txt in `root`); `validationClassOrder` lists the wnids that integer
    /// labels in that file count from 1 (the devkit's ILSVRC2012_ID order; default: sorted wnids).
    package init(root: String, validationLabels: String? = nil, validationClassOrder: String? = nil) throws {
        self.root = root
        let fm = FileManager.default
        let trainRoot = root + "/train"
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: trainRoot, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SourceError(path: trainRoot, "no train/ folder: expected the ILSVRC2012 layout train/<wnid>/*.JPEG")
        }
        let wnids = try Self.subdirectories(trainRoot)
        guard !wnids.isEmpty else { throw SourceError(path: trainRoot, "no class folders") }
        let names = try Self.synsetNames(root + "/LOC_synset_mapping.txt")
        classes = wnids.enumerated().map { ImageClass(index: $0.offset, wnid: $0.element, name: names[$0.element] ?? $0.element) }
        let labelOf = Dictionary(uniqueKeysWithValues: classes.map { ($0.wnid, $0.index) })

        var skipped: [SkippedFile] = []
        var train: [SourceImage] = []
        for c in classes {
            let (files, others) = try Self.imageFiles(in: trainRoot + "/" + c.wnid)
            train += files.map { SourceImage(path: $0, label: c.index) }
            skipped += others.map { SkippedFile(path: $0, reason: "not an image") }
        }

        var validation: [SourceImage] = []
        let valRoot = root + "/val"
        if fm.fileExists(atPath: valRoot) {
            let folders = try Self.subdirectories(valRoot)
            if !folders.isEmpty {
                for folder in folders {
                    guard let label = labelOf[folder] else {
                        throw SourceError(path: valRoot + "/" + folder, "validation class is not among the train classes")
                    }
                    let (files, others) = try Self.imageFiles(in: valRoot + "/" + folder)
                    validation += files.map { SourceImage(path: $0, label: label) }
                    skipped += others.map { SkippedFile(path: $0, reason: "not an image") }
                }
            } else {
                let (files, others) = try Self.imageFiles(in: valRoot)
                skipped += others.map { SkippedFile(path: $0, reason: "not an image") }
                let labels = try ValidationLabels(
                    root: root, explicitPath: validationLabels, classOrderPath: validationClassOrder, classes: classes)
                for (index, path) in files.enumerated() {
                    if let label = labels.label(forFile: path, position: index) {
                        validation.append(SourceImage(path: path, label: label))
                    } else {
                        skipped.append(SkippedFile(path: path, reason: "no label in \(labels.source)"))
                    }
                }
            }
        }
        guard !train.isEmpty else { throw SourceError(path: trainRoot, "no images") }
        guard !validation.isEmpty else {
            throw SourceError(path: valRoot, "no held-out images: the val/ folder is missing or empty")
        }
        self.train = train
        self.validation = validation
        self.skipped = skipped
    }

    package func decode(_ image: SourceImage) throws -> RGBImage {
        guard case .file(let path) = image.location else {
            throw ImageCodecError(path: image.name, reason: "not a file of \(root)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageCodecError(path: path, reason: "unreadable")
        }
        return try ImageCodecs.decode([UInt8](data), path: path)
    }

    static func subdirectories(_ path: String) throws -> [String] {
        let fm = FileManager.default
        return try fm.contentsOfDirectory(atPath: path).filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted()
    }

    /// Regular files in `folder`, sorted: those with an image extension, and the rest.
    static func imageFiles(in folder: String) throws -> (images: [String], others: [String]) {
        let fm = FileManager.default
        var images: [String] = []
        var others: [String] = []
        for name in try fm.contentsOfDirectory(atPath: folder).sorted() where !name.hasPrefix(".") {
            let path = folder + "/" + name
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            if imageExtensions.contains((name as NSString).pathExtension.lowercased()) {
                images.append(path)
            } else {
                others.append(path)
            }
        }
        return (images, others)
    }

    /// "n01440764 tench, Tinca tinca" lines -> [wnid: name]; empty when the file does not exist.
    static func synsetNames(_ path: String) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        var names: [String: String] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { names[String(parts[0])] = String(parts[1]) }
        }
        return names
    }
}

/// Labels of a flat `val/` folder: LOC_val_solution.csv ("ImageId,PredictionString" with the wnid first), or a
/// ground-truth text file with one label per line in file-name order (a wnid, or an integer counting from 1).
struct ValidationLabels {
    let source: String
    private var byImageID: [String: Int] = [:]
    private var byPosition: [Int] = []

    init(root: String, explicitPath: String?, classOrderPath: String?, classes: [ImageClass]) throws {
        let candidates = explicitPath.map { [$0] }
            ?? [root + "/LOC_val_solution.csv", root + "/ILSVRC2012_validation_ground_truth.txt"]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw SourceError(
                path: root + "/val",
                "flat validation folder without labels: give a ground-truth file (LOC_val_solution.csv or "
                    + "ILSVRC2012_validation_ground_truth.txt)")
        }
        source = path
        let labelOf = Dictionary(uniqueKeysWithValues: classes.map { ($0.wnid, $0.index) })
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(whereSeparator: \.isNewline).map(String.init)
        if path.hasSuffix(".csv") {
            for (number, line) in lines.enumerated() where number > 0 || !line.hasPrefix("ImageId") {
                let fields = line.split(separator: ",", maxSplits: 1)
                guard fields.count == 2, let wnid = fields[1].split(separator: " ").first else {
                    throw SourceError(path: path, "line \(number + 1): expected ImageId,PredictionString")
                }
                guard let label = labelOf[String(wnid)] else {
                    throw SourceError(path: path, "line \(number + 1): unknown class \(wnid)")
                }
                byImageID[String(fields[0])] = label
            }
        } else {
            let order = try classOrderPath.map {
                try String(contentsOfFile: $0, encoding: .utf8).split(whereSeparator: \.isNewline)
                    .map { String($0.split(separator: " ").first ?? "") }
            } ?? classes.map(\.wnid)
            for (number, line) in lines.enumerated() {
                let token = line.trimmingCharacters(in: .whitespaces)
                if let id = Int(token) {
                    guard id >= 1, id <= order.count, let label = labelOf[order[id - 1]] else {
                        throw SourceError(path: path, "line \(number + 1): label \(id) outside 1...\(order.count)")
                    }
                    byPosition.append(label)
                } else if let label = labelOf[token] {
                    byPosition.append(label)
                } else {
                    throw SourceError(path: path, "line \(number + 1): '\(token)' is neither a class nor a number")
                }
            }
        }
    }

    func label(forFile path: String, position: Int) -> Int? {
        if !byImageID.isEmpty {
            return byImageID[((path as NSString).lastPathComponent as NSString).deletingPathExtension]
        }
        return position < byPosition.count ? byPosition[position] : nil
    }
}
