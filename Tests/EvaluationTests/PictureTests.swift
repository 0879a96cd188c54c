import Evaluation
import Foundation
import ImageCodecs
import Model
import Numerics
import TestSupport
import XCTest

final class PictureTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("pictures") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func decodePNG(_ path: String) throws -> RGBImage {
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path), "no file at \(path)")
        return try ImageCodecs.decode([UInt8](bytes), path: path)
    }

    private func pixel(_ image: RGBImage, _ x: Int, _ y: Int) -> [UInt8] {
        let o = (y * image.width + x) * 3
        return Array(image.pixels[o..<(o + 3)])
    }

    /// Pairs land where the layout says, original left, reconstruction right, grey between.
    func testReconstructionGridHoldsOriginalsBesideReconstructions() throws {
        let n = 5, s = 16, gap = 4
        let originals = demoImages(n)
        let reconstructions = Tensor(shape: originals.shape, values: originals.array.map { -$0 * 0.5 })
        let path = directory.appendingPathComponent("reconstructions.png").path
        try ImageCodecs.writePNG(
            ImageGrid.reconstructions(originals: originals, reconstructions: reconstructions, pairsPerRow: 2, gap: gap),
            to: path)
        let grid = try decodePNG(path)
        XCTAssertEqual(grid.width, gap + 2 * (2 * s + 1 + gap))
        XCTAssertEqual(grid.height, gap + 3 * (s + gap))
        let background = [ImageGrid.background.r, ImageGrid.background.g, ImageGrid.background.b]
        for p in 0..<n {
            let x0 = gap + (p % 2) * (2 * s + 1 + gap), y0 = gap + (p / 2) * (s + gap)
            let original = demoPixels(p), shown = ImageGrid.image(reconstructions, index: p)
            for y in 0..<s {
                for x in 0..<s {
                    let o = (y * s + x) * 3
                    XCTAssertEqual(pixel(grid, x0 + x, y0 + y), Array(original[o..<(o + 3)]), "pair \(p) original")
                    XCTAssertEqual(
                        pixel(grid, x0 + s + 1 + x, y0 + y), Array(shown.pixels[o..<(o + 3)]), "pair \(p) recon")
                }
                XCTAssertEqual(pixel(grid, x0 + s, y0 + y), background, "the line between original and reconstruction")
            }
        }
        XCTAssertEqual(pixel(grid, 0, 0), background)
        XCTAssertEqual(pixel(grid, grid.width - 1, grid.height - 1), background, "the missing sixth pair")
    }

    func testReconstructionsOfAModelDecodeWithTheRightSize() throws {
        let images = demoImages(4)
        let models = try TinyModels(initializingFrom: images)
        let path = directory.appendingPathComponent("model.png").path
        try ImageGrid.writeReconstructions(of: images, vqvae: models.vqvae, pairsPerRow: 4, gap: 2, scale: 2, to: path)
        let grid = try decodePNG(path)
        XCTAssertEqual(grid.width, 2 + 4 * (65 + 2))
        XCTAssertEqual(grid.height, 2 + 32 + 2)
        let first = Array(demoPixels(0)[0..<3]), second = Array(demoPixels(0)[3..<6])
        XCTAssertEqual([pixel(grid, 2, 2), pixel(grid, 3, 3), pixel(grid, 4, 3)], [first, first, second], "scale 2")
    }

    /// Sample (class, j) is fixed by the seed: the same from a second draw, from a draw of other classes in other
    /// batch sizes (up to BLAS rounding, which these sizes do not show); another seed draws others. The chunks
    /// are exactly `batch` samples, the last one padded.
    func testSampleGridIsDeterministicForASeed() throws {
        let models = try TinyModels(initializingFrom: demoImages(6))
        let grid = SampleGrid(classes: [1, 2], perClass: 3, temperature: 1, seed: 7, batch: 2)
        let first = try grid.draw(vqvae: models.vqvae, top: models.top, bottom: models.bottom)
        let again = try grid.draw(vqvae: models.vqvae, top: models.top, bottom: models.bottom)
        XCTAssertEqual(first.top, again.top)
        XCTAssertEqual(first.bottom, again.bottom)
        XCTAssertEqual(first.images.array, again.images.array)
        XCTAssertEqual(first.labels, [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(first.images.shape, [6, 16, 16, 3])
        XCTAssertEqual(grid.chunks.map(\.labels), [[1, 1], [1, 2], [2, 2]])
        let padded = SampleGrid(classes: [1, 2], perClass: 3, temperature: 1, seed: 7, batch: 4).chunks
        XCTAssertEqual(padded.map(\.count), [4, 2])
        XCTAssertEqual(padded[1].labels, [2, 2, 2, 2])
        XCTAssertEqual(padded[1].indices, [2 * SampleGrid.classStride + 1, 2 * SampleGrid.classStride + 2,
                                           2 * SampleGrid.classStride + 2, 2 * SampleGrid.classStride + 2])

        let alone = try SampleGrid(classes: [2], perClass: 2, temperature: 1, seed: 7, batch: 3)
            .draw(vqvae: models.vqvae, top: models.top, bottom: models.bottom)
        XCTAssertEqual(alone.top, Array(first.top[(3 * 4)..<(5 * 4)]), "class 2's samples 0 and 1 drawn alone")
        XCTAssertEqual(alone.bottom, Array(first.bottom[(3 * 16)..<(5 * 16)]))

        let other = try SampleGrid(classes: [1, 2], perClass: 3, temperature: 1, seed: 8, batch: 2)
            .draw(vqvae: models.vqvae, top: models.top, bottom: models.bottom)
        XCTAssertNotEqual(other.bottom, first.bottom, "another seed")

        let path = directory.appendingPathComponent("samples.png").path
        try grid.write(first, classNames: demoClassNames, to: path)
        let image = try decodePNG(path)
        let labelWidth = BitmapFont.width("2 horizontal stripes") + 4
        XCTAssertEqual(image.width, 4 + labelWidth + 3 * (16 + 4))
        XCTAssertEqual(image.height, 4 + 2 * (16 + 4))
        let shown = ImageGrid.image(first.images, index: 4)
        XCTAssertEqual(pixel(image, 4 + labelWidth + 16 + 4, 4 + 20), Array(shown.pixels[0..<3]), "class 2, sample 1")
        try grid.write(again, classNames: demoClassNames, to: path)
        XCTAssertEqual(try decodePNG(path), image, "a second draw gives the same picture")
    }

    /// A mini run log: a VQ-VAE stage, then joint training, with held-out records every 20 steps.
    static func metricsText() throws -> String {
        var lines: [String] = []
        for step in stride(from: 0, to: 200, by: 5) {
            let t = Double(step)
            let schedule = step < 60 ? "vqvae" : "joint"
            let wiggle = 1 + 0.1 * sin(t)
            let nats = step < 60 ? 0 : 3.4 * exp(-(t - 60) / 80) + 1.2
            lines.append(
                #"{"kind":"train","step":\#(step),"schedule":"\#(schedule)","#
                    + #""reconstruction":\#(0.3 * exp(-t / 40) * wiggle + 0.004),"#
                    + #""commitmentTop":0.01,"topNats":\#(nats * wiggle),"bottomNats":\#(nats * 1.2 * wiggle)}"#)
            if step % 20 == 0 && step > 0 {
                let layout = EvaluationLayout(topCodes: 4, bottomCodes: 4, classes: 1)
                var sums = [Double](repeating: 0, count: layout.count)
                sums[EvaluationLayout.images] = 10
                sums[EvaluationLayout.values] = 1000
                sums[EvaluationLayout.squaredError] = 1000 * (0.33 * exp(-t / 45) + 0.006)
                sums[EvaluationLayout.topPositions] = 40
                sums[EvaluationLayout.topNats] = 40 * (step < 60 ? 3.47 : 3.5 * exp(-(t - 60) / 90) + 1.5)
                sums[EvaluationLayout.bottomPositions] = 160
                sums[EvaluationLayout.bottomNats] = 160 * (step < 60 ? 3.47 : 4.1 * exp(-(t - 60) / 90) + 1.7)
                let report = EvaluationReport(sums: sums, layout: layout, step: step)
                let encoder = JSONEncoder()
                encoder.outputFormatting = .sortedKeys
                var json = String(decoding: try encoder.encode(report), as: UTF8.self)
                json.removeFirst()
                lines.append(#"{"kind":"eval","# + json)
            }
        }
        lines.append(#"{"kind":"checkpoint","step":200}"#)
        return lines.joined(separator: "\n") + "\n"
    }

    func testCurvePlotOfAMiniMetricsLog() throws {
        let metrics = directory.appendingPathComponent("metrics.jsonl").path
        try PictureTests.metricsText().write(toFile: metrics, atomically: true, encoding: .utf8)
        let history = try MetricsHistory(contentsOf: metrics)
        XCTAssertEqual(history.trainReconstruction.count, 40)
        XCTAssertEqual(history.trainTopNats.count, 28, "the VQ-VAE stage logs no prior NLL")
        XCTAssertEqual(history.heldOutReconstruction.map(\.step), stride(from: 20, to: 200, by: 20).map(Double.init))
        XCTAssertEqual(history.heldOutTopNats.first?.value ?? 0, 3.47, accuracy: 1e-12)

        for (name, plot) in [("curves.png", CurvePlot()), ("curves-linear.png", CurvePlot(logScale: false))] {
            let path = directory.appendingPathComponent(name).path
            try plot.write(metrics: metrics, to: path)
            let image = try decodePNG(path)
            XCTAssertEqual(image.width, 1200)
            XCTAssertEqual(image.height, 480)
            var colours = Set<[UInt8]>(), orange = 0, blue = 0
            for y in 0..<image.height {
                for x in 0..<image.width {
                    let p = pixel(image, x, y)
                    colours.insert(p)
                    if p == [255, 127, 14] { orange += 1 }
                    if p == [31, 119, 180] { blue += 1 }
                }
            }
            XCTAssertGreaterThan(colours.count, 5, "\(name) is blank")
            XCTAssertGreaterThan(orange, 200, "\(name): held-out curves drawn")
            XCTAssertGreaterThan(blue, 200, "\(name): train curves drawn")
        }
    }

    func testMalformedMetricsLinesNameTheFileAndLine() throws {
        let good = #"{"kind":"train","step":1,"schedule":"joint","reconstruction":0.1,"topNats":3,"bottomNats":3}"#
        let cases: [(String, Int, String)] = [
            (good + "\nnot json at all\n", 2, "not a JSON object"),
            (good + "\n\n" + #"{"step":3}"#, 3, "no \"kind\""),
            (#"{"kind":"train","step":1,"schedule":"vqvae"}"#, 1, "no number \"reconstruction\""),
            (
                good + "\n" + #"{"kind":"eval","step":4,"reconstruction":0.1,"top":{"nats":2}}"#, 2,
                "no object \"bottom\""
            ),
            (#"{"kind":"eval","step":4,"reconstruction":0.1,"top":{"bits":2},"bottom":{"nats":2}}"#, 1, "\"top.nats\""),
        ]
        for (text, line, reason) in cases {
            XCTAssertThrowsError(try MetricsHistory(text: text, path: "run/metrics.jsonl")) { error in
                let description = "\(error)"
                XCTAssertTrue(description.hasPrefix("run/metrics.jsonl:\(line): "), description)
                XCTAssertTrue(description.contains(reason), description)
            }
        }
        XCTAssertThrowsError(try MetricsHistory(contentsOf: directory.appendingPathComponent("absent.jsonl").path)) {
            XCTAssertTrue("\($0)".contains("absent.jsonl: cannot read"), "\($0)")
        }
    }

    func testFontCoversPlotLabels() {
        for character in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,:;-+_=/()[]<>%#*'\"!? " {
            XCTAssertEqual(BitmapFont.rows(character).count, BitmapFont.glyphHeight)
        }
        XCTAssertEqual(BitmapFont.rows("~"), BitmapFont.rows("?"), "unknown characters draw as '?'")
        XCTAssertEqual(BitmapFont.width("ab", scale: 2), 22)
    }
}
