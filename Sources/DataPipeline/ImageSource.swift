import Foundation
import ImageCodecs

/// A labelled image collection that `prepare` deals into shards: an ImageNet-layout folder or MNIST-family IDX files.
package protocol ImageSource: Sendable {
    var classes: [ImageClass] { get }
    var train: [SourceImage] { get }
    /// The held-out images: never trained on.
    var validation: [SourceImage] { get }
    /// What the scan passed over (not images, or unlabelled).
    var skipped: [SkippedFile] { get }
    /// The image as RGB; throws `ImageCodecError` for an image that is to be skipped and reported.
    func decode(_ image: SourceImage) throws -> RGBImage
}

/// One class of a dataset: its position in the class list is its label.
package struct ImageClass: Codable, Sendable, Equatable {
    package var index: Int
    /// The folder name, a WordNet id such as n01440764 for ImageNet; the label as text for IDX sources.
    package var wnid: String
    package var name: String
}

/// One image of a source and its label.
package struct SourceImage: Sendable, Equatable, Comparable {
    /// Where the image's bytes are.
    package enum Location: Sendable, Equatable {
        /// An encoded image file (JPEG or PNG).
        case file(String)
        /// Image `index` (from 0) of an IDX array file.
        case record(file: String, index: Int)
    }

    package var location: Location
    package var label: Int

    package init(path: String, label: Int) { self.init(location: .file(path), label: label) }

    package init(location: Location, label: Int) {
        self.location = location
        self.label = label
    }

    /// Names the image in plans and reports: the file's path, or the array file's path and the image number.
    package var name: String {
        switch location {
        case .file(let path): return path
        case .record(let file, let index): return "\(file)[\(index)]"
        }
    }

    /// Paths in byte order; the images of one array file in their order there.
    package static func < (a: SourceImage, b: SourceImage) -> Bool {
        switch (a.location, b.location) {
        case (.record(let f, let i), .record(let g, let j)): return f != g ? f < g : i < j
        default: return a.name < b.name
        }
    }
}

/// A file the scan or the conversion passed over, and why.
package struct SkippedFile: Codable, Sendable, Equatable {
    package var path: String
    package var reason: String
}

/// A source folder that does not have the expected layout, or a source file that cannot be used.
package struct SourceError: Error, CustomStringConvertible {
    package let path: String
    package let message: String
    init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    package var description: String { "\(path): \(message)" }
}
