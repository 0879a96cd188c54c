import Foundation
import TestSupport

/// Builds small MNIST-family IDX folders for tests: image i of a split is uniformly grey at 20 i + label.
enum IDXTree {
    /// The IDX bytes of a `dimensions` array of unsigned bytes.
    static func idx(_ dimensions: [Int], _ elements: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
        for d in dimensions { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return bytes + elements
    }

    static func labels(_ count: Int, classes: Int) -> [UInt8] { (0..<count).map { UInt8($0 % classes) } }

    static func images(_ labels: [UInt8], side: Int) -> [UInt8] {
        labels.enumerated().flatMap { i, label in [UInt8](repeating: UInt8(20 * i) + label, count: side * side) }
    }

    /// train (`train` images) gzip-compressed and t10k (`test` images) plain, `side` x `side` pixels.
    static func make(train: Int = 12, test: Int = 6, classes: Int = 3, side: Int = 6) throws -> URL {
        let root = try TestEnvironment.temporaryDirectory("idx")
        for (prefix, count, gzip) in [("train", train, true), ("t10k", test, false)] {
            let labels = labels(count, classes: classes)
            try write(idx([count, side, side], images(labels, side: side)), root.path + "/\(prefix)-images-idx3-ubyte", gzip: gzip)
            try write(idx([count], labels), root.path + "/\(prefix)-labels-idx1-ubyte", gzip: gzip)
        }
        return root
    }

    /// Writes `bytes` to `path`, or to `path.gz` through gzip.
    static func write(_ bytes: [UInt8], _ path: String, gzip: Bool = false) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        guard gzip else { return }
        let result = try TestEnvironment.run(["gzip", "-n", "-f", path])
        guard result.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }
}
