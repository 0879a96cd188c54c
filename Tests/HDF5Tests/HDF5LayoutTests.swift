import Foundation
import HDF5
import TestSupport
import XCTest

/// What `vqvae2 index` asks of other tools' files: their filters and chunks, numpy-style type names, and strings in
/// the forms h5py writes.
final class HDF5LayoutTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("hdf5-layout") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private static func fixture(_ name: String) -> String {
        TestEnvironment.packageRoot.appendingPathComponent("Tests/DataPipelineTests/Fixtures/\(name)").path
    }

    func testGzipDatasetsRoundTripAndReportTheirFilterAndChunks() throws {
        let values = (0..<(4 * 8)).map { UInt8($0 % 5) }
        do {
            let file = try File(path: path("gzip.h5"), mode: .create)
            let dataset = try file.root.createDataset("x", type: .uint8, shape: [4, 8], chunk: [2, 8], gzip: 6)
            try dataset.write(values)
            try file.root.writeDataset("plain", values, shape: [4, 8])
        }
        let file = try File(path: path("gzip.h5"), mode: .readOnly)
        let dataset = try file.root.openDataset("x")
        XCTAssertEqual(try dataset.read(as: UInt8.self), values)
        XCTAssertEqual(dataset.chunkShape, [2, 8])
        XCTAssertEqual(dataset.filters, [Filter(id: 1, name: "deflate", isAvailable: true)])
        XCTAssertTrue(dataset.filters[0].compresses)
        let plain = try file.root.openDataset("plain")
        XCTAssertNil(plain.chunkShape)
        XCTAssertEqual(plain.filters, [])
    }

    func testAFilterThisLibraryLacksIsNamedAndNotAvailable() throws {
        let file = try File(path: Self.fixture("h5py_lzf_shard.h5"), mode: .readOnly)
        let images = try file.root.openDataset("images")
        XCTAssertEqual(images.filters, [Filter(id: 32000, name: "lzf", isAvailable: false)])
        XCTAssertEqual("\(images.filters[0])", "32000 (lzf)")
    }

    func testStringsInEveryFormH5pyWritesThem() throws {
        let listed = try File(path: Self.fixture("h5py_names_attribute.h5"), mode: .readOnly)
        XCTAssertEqual(try listed.root.stringsAttribute("class_names"), ["cat", "dog", "fox"], "a list of str: variable-length")
        let bytes = try File(path: Self.fixture("h5py_names_dataset.h5"), mode: .readOnly)
        XCTAssertEqual(try bytes.root.openDataset("class_names").readStrings(), ["cat", "dog", "fox"], "numpy S3: fixed-length")
        XCTAssertEqual(try bytes.root.openDataset("wide").storedTypeDescription, "uint16")
        XCTAssertThrowsError(try bytes.root.openDataset("labels").readStrings()) {
            XCTAssertTrue("\($0)".contains("h5py_names_dataset.h5: /labels: holds uint8, not strings"), "\($0)")
        }
        do {
            let file = try File(path: path("scalar.h5"), mode: .create)
            try file.root.setAttribute("names", "a\nb")
        }
        let scalar = try File(path: path("scalar.h5"), mode: .readOnly)
        XCTAssertEqual(try scalar.root.stringsAttribute("names"), ["a\nb"], "a scalar is one string")
        XCTAssertThrowsError(try scalar.root.stringsAttribute("absent")) {
            XCTAssertTrue("\($0)".contains("scalar.h5: / attribute 'absent': missing"), "\($0)")
        }
    }
}
