import Foundation
import TestSupport
import XCTest

/// `vqvae2 prepare` on an IDX folder under mpirun: class names required, bad input stops every rank with status 2
/// and one message, and a good folder becomes shards and a manifest.
final class PrepareIDXCommandTests: XCTestCase {
    /// A tiny IDX layout: `count` 8x8 images per split, labels 0, 1, 2, 0, ...
    private func writeIDX(in root: URL, count: Int = 9) throws {
        func header(_ dimensions: [Int]) -> [UInt8] {
            [0, 0, 0x08, UInt8(dimensions.count)] + dimensions.flatMap { d in
                [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)]
            }
        }
        let labels = (0..<count).map { UInt8($0 % 3) }
        let pixels = labels.flatMap { [UInt8](repeating: 40 * $0 + 20, count: 64) }
        for prefix in ["train", "t10k"] {
            try Data(header([count, 8, 8]) + pixels).write(to: root.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try Data(header([count]) + labels).write(to: root.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }

    func testIDXFoldersNeedClassNamesAndConvertOnTwoRanks() throws {
        let directory = try TestEnvironment.temporaryDirectory("prepare-idx")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try writeIDX(in: source)
        let output = directory.appendingPathComponent("data").path
        let prepare = [TestEnvironment.product("vqvae2"), "prepare", "--source", source.path, "--output", output,
                       "--image-size", "8", "--train-shards", "2"]

        let unnamed = try TestEnvironment.mpirun(ranks: 2, prepare)
        XCTAssertEqual(unnamed.status, 2, "bad input: \(unnamed.output)")
        XCTAssertEqual(unnamed.output.components(separatedBy: "IDX files hold no class names").count - 1, 1,
                       "one message for both ranks: \(unnamed.output)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + "/manifest.json"))

        let named = try TestEnvironment.mpirun(ranks: 2, prepare + ["--class-names", "numbers"])
        XCTAssertEqual(named.status, 0, named.output)
        XCTAssertTrue(named.output.contains("18 images in 3 classes -> 3 shards"), named.output)
        let manifest = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + "/manifest.json")))
                as? [String: Any])
        let classes = try XCTUnwrap(manifest["classes"] as? [[String: Any]])
        XCTAssertEqual(classes.compactMap { $0["name"] as? String }, ["0", "1", "2"])
    }
}
