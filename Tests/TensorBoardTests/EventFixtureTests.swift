import Foundation
import TensorBoard
import XCTest

/// A file written by the `tensorboard` package's own EventFileWriter (benchmarks/tensorboard_fixture.sh), decoded
/// by our reader: a mistake our writer and reader shared would pass EventFileTests, not this.
final class EventFixtureTests: XCTestCase {
    private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tensorboard-writer.tfevents").path

    func testEveryEventOfTensorBoardsWriterDecodesExactly() throws {
        let events = try EventFileReader.read(fixture)
        XCTAssertEqual(events.count, 7)
        guard events.count == 7 else { return }
        XCTAssertEqual(events[0], Event(wallTime: 1_700_000_000, step: 0, what: .fileVersion("brain.Event:2")))
        XCTAssertEqual(events[1], Event(wallTime: 1_700_000_001.5, step: 1, what: .summary([
            SummaryValue(tag: "train/mse", .scalar(0.5)), SummaryValue(tag: "train/zero", .scalar(0)),
        ])))
        XCTAssertEqual(events[2], Event(wallTime: 1_700_000_002.25, step: 2, what: .summary([
            SummaryValue(tag: "train/mse", .scalar(Float(0.1))), SummaryValue(tag: "eval/psnr", .scalar(-3.75)),
        ])))
        XCTAssertEqual(events[3], Event(wallTime: 1_700_000_003, step: 2, what: .sessionLog(.start)))
        XCTAssertEqual(events[4], Event(wallTime: 1_700_000_004, step: 2, what: .summary([
            SummaryValue(tag: "train/mse", .scalar(0.125)),
        ])))
        XCTAssertEqual(events[6], Event(wallTime: 1_700_000_006, step: -7, what: .summary([
            SummaryValue(tag: "odd/negative_step", .scalar(1)),
        ])))
        XCTAssertEqual(events[5].wallTime, 1_700_000_005)
        XCTAssertEqual(events[5].step, 5_000_000_000, "a step beyond 32 bits")
        guard case .summary(let values) = events[5].what, values.count == 1, case .image(let image) = values[0].kind else {
            return XCTFail("\(events[5])")
        }
        XCTAssertEqual(values[0].tag, "pictures/samples")
        XCTAssertEqual([image.height, image.width, image.colorspace], [2, 3, 3])
        XCTAssertEqual(try EncodedImage(png: image.encoded, path: fixture), image, "the PNG's own header agrees")
        XCTAssertEqual(Array(image.encoded.suffix(8)), Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82])
    }

    func testTheFixtureIsSmall() throws {
        let size = try FileManager.default.attributesOfItem(atPath: fixture)[.size] as? Int ?? 0
        XCTAssertLessThan(size, 4096)
    }
}
