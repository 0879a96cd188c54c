import Foundation
import Numerics

/// Tensors written by a PyTorch script under Tests/Golden, read back without Python.
///
/// A fixture file is JSON: {"tensor name": {"shape": [...], "data": [...]}, ...}; shapes are in our layout
/// (NHWC activations, [out, kh, kw, in] convolution weights), the script permutes PyTorch's tensors.
package struct GoldenFixture {
    package let path: String
    private let tensors: [String: Entry]

    struct Entry: Decodable {
        let shape: [Int]
        let data: [Float]
    }

    /// Loads `Tests/Golden/fixtures/<name>.json`.
    package init(_ name: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        path = root.appendingPathComponent("Golden/fixtures/\(name).json").path
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        tensors = try JSONDecoder().decode([String: Entry].self, from: data)
    }

    /// The tensor named `name`; a missing one is a clear test failure, not a crash.
    package func tensor(_ name: String) throws -> Tensor {
        guard let entry = tensors[name] else {
            throw FixtureError(message: "\(path): no tensor '\(name)' (have \(tensors.keys.sorted()))")
        }
        return Tensor(shape: entry.shape, values: entry.data)
    }

    /// The values of `name` as a flat array.
    package func values(_ name: String) throws -> [Float] { try tensor(name).array }

    package var names: [String] { tensors.keys.sorted() }
}

package struct FixtureError: Error, CustomStringConvertible {
    package let message: String
    package var description: String { message }
}
