/// Where the class names of an IDX source come from (`prepare --class-names`). IDX files hold labels only, and
/// MNIST digits and Fashion-MNIST use the same file names, so the names are given, never guessed.
package enum ClassNameSource: Sendable, Equatable {
    /// Fashion-MNIST's ten classes, in label order.
    case fashionMNIST
    /// The labels themselves: "0", "1", ...
    case numbers
    /// A text file with one name per line, line i naming label i (`ClassNames(file:)`).
    case file(String)

    /// Fashion-MNIST's class names, as its authors list them for labels 0-9.
    package static let fashionMNISTNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// `fashion-mnist`, `numbers`, or the path of a names file.
    package init(argument: String) {
        switch argument {
        case "fashion-mnist": self = .fashionMNIST
        case "numbers": self = .numbers
        default: self = .file(argument)
        }
    }

    /// The names of labels 0..<`labelCount` (the largest label plus one), or more when a list names more.
    /// `labelsFile` is the file whose largest label is checked against the list, for the error.
    func names(labelCount: Int, labelsFile: String) throws -> [String] {
        let names: [String]
        let origin: String
        switch self {
        case .numbers: return ClassNames.numbered(labelCount).names
        case .fashionMNIST:
            names = Self.fashionMNISTNames
            origin = "fashion-mnist (--class-names)"
        case .file(let path):
            names = try ClassNames(file: path).names
            origin = path
        }
        guard labelCount <= names.count else {
            throw SourceError(
                path: labelsFile,
                "label \(labelCount - 1) has no name: \(origin) names \(names.count) classes (labels 0-\(names.count - 1))")
        }
        return names
    }
}
