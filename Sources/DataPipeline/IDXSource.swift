import Foundation
import ImageCodecs

/// A data set in the MNIST family's IDX layout: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each plain or with `.gz`. The t10k (test) images are the
/// held-out split. Greyscale images become RGB with three equal channels.
package struct IDXSource: ImageSource {
    package let root: String
    package let classes: [ImageClass]
    package let train: [SourceImage]
    package let validation: [SourceImage]
    /// Always empty: every record of the files is an image with a label.
    package let skipped: [SkippedFile] = []
    private let trainImages: IDXFile
    private let testImages: IDXFile

    /// Whether `root` holds the training images of an IDX layout (the other files are then required).
    package static func isLayout(_ root: String) -> Bool { file(root, "train-images-idx3-ubyte") != nil }

    /// Reads all four files of `root`, checking that each is complete and that labels and images agree in number.
    package init(root: String, classNames: ClassNameSource) throws {
        self.root = root
        func required(_ name: String) throws -> String {
            guard let path = Self.file(root, name) else {
                throw SourceError(path: root + "/" + name, "missing (neither \(name) nor \(name).gz): an IDX source needs all four files")
            }
            return path
        }
        let trainImages = try IDXFile(path: try required("train-images-idx3-ubyte"), rank: 3)
        let testImages = try IDXFile(path: try required("t10k-images-idx3-ubyte"), rank: 3)
        self.trainImages = trainImages
        self.testImages = testImages
        let trainLabels = try IDXFile(path: try required("train-labels-idx1-ubyte"), rank: 1)
        let testLabels = try IDXFile(path: try required("t10k-labels-idx1-ubyte"), rank: 1)
        for (images, labels) in [(trainImages, trainLabels), (testImages, testLabels)] {
            guard labels.dimensions[0] == images.dimensions[0] else {
                throw SourceError(
                    path: labels.path,
                    "\(labels.dimensions[0]) labels for the \(images.dimensions[0]) images of \(images.path)")
            }
            guard images.dimensions[0] > 0 else { throw SourceError(path: images.path, "no images") }
            guard images.dimensions[1] > 0, images.dimensions[2] > 0 else {
                throw SourceError(path: images.path, "images of \(images.dimensions[1])x\(images.dimensions[2]) pixels")
            }
        }
        let largest = max(trainLabels.elements.max() ?? 0, testLabels.elements.max() ?? 0)
        let labelsFile = (trainLabels.elements.max() ?? 0) >= largest ? trainLabels.path : testLabels.path
        let names = try classNames.names(labelCount: Int(largest) + 1, labelsFile: labelsFile)
        classes = names.enumerated().map { ImageClass(index: $0.offset, wnid: String($0.offset), name: $0.element) }
        train = trainLabels.elements.enumerated().map {
            SourceImage(location: .record(file: trainImages.path, index: $0.offset), label: Int($0.element))
        }
        validation = testLabels.elements.enumerated().map {
            SourceImage(location: .record(file: testImages.path, index: $0.offset), label: Int($0.element))
        }
    }

    package func decode(_ image: SourceImage) throws -> RGBImage {
        guard case .record(let path, let index) = image.location else {
            throw ImageCodecError(path: image.name, reason: "not a record of an IDX file")
        }
        let file = path == trainImages.path ? trainImages : testImages
        guard path == file.path, index >= 0, index < file.dimensions[0] else {
            throw ImageCodecError(path: image.name, reason: "no such image in \(root)")
        }
        let height = file.dimensions[1]
        let width = file.dimensions[2]
        let start = index * height * width
        var pixels = [UInt8](repeating: 0, count: height * width * 3)
        for i in 0..<(height * width) {
            let grey = file.elements[start + i]
            pixels[3 * i] = grey
            pixels[3 * i + 1] = grey
            pixels[3 * i + 2] = grey
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// `name` or `name.gz` in `root`; the uncompressed file when both are there.
    private static func file(_ root: String, _ name: String) -> String? {
        [root + "/" + name, root + "/" + name + ".gz"].first { FileManager.default.fileExists(atPath: $0) }
    }
}
