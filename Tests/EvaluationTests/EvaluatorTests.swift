import DataPipeline
import Evaluation
import Foundation
import Model
import Numerics
import TestSupport
import XCTest

final class EvaluatorTests: XCTestCase {
    /// Every figure recomputed by hand from the models' outputs for the same images.
    func testReportEqualsADirectComputation() throws {
        let n = 6
        let images = demoImages(n), labels = demoLabels(n)
        let models = try TinyModels(initializingFrom: images)
        let evaluator = models.evaluator()
        evaluator.accumulate(images: images, labels: labels)
        let report = EvaluationReport(sums: evaluator.sums, layout: evaluator.layout, classNames: demoClassNames)

        _ = models.vqvae.forward(images, training: false)
        let x = images.array, y = models.vqvae.reconstruction.array
        var squared = 0.0, squaredUnit = 0.0
        var perClass = [Double](repeating: 0, count: TinyModels.classes)
        let perImage = x.count / n
        for i in 0..<x.count {
            let e = Double(y[i]) - Double(x[i])
            squared += e * e
            perClass[Int(labels[i / perImage])] += e * e
            let shown = min(max((Double(y[i]) + 1) / 2, 0), 1)
            squaredUnit += (shown - (Double(x[i]) + 1) / 2) * (shown - (Double(x[i]) + 1) / 2)
        }
        let mse = squared / Double(x.count), mseUnit = squaredUnit / Double(x.count)
        XCTAssertEqual(report.images, n)
        XCTAssertEqual(report.reconstruction, mse, accuracy: 1e-12 * mse)
        XCTAssertEqual(report.reconstructionUnit, mseUnit, accuracy: 1e-12 * mseUnit)
        XCTAssertEqual(report.psnr, 10 * log10(1 / mseUnit), accuracy: 1e-9)
        XCTAssertLessThan(mseUnit, mse, "clamping and halving shrink the error")
        for entry in report.perClass {
            let expected = perClass[entry.label] / Double(2 * perImage)
            XCTAssertEqual(entry.reconstruction, expected, accuracy: 1e-12 * expected)
            XCTAssertEqual(entry.images, 2)
            XCTAssertEqual(entry.name, demoClassNames[entry.label])
        }
        XCTAssertEqual(report.perClass.map(\.label), [0, 1, 2])

        // The priors are scored on the codes `encode` gives for the held-out images.
        let (topCodes, bottomCodes) = models.vqvae.encode(images)
        XCTAssertEqual(topCodes.count, n * 4)
        XCTAssertEqual(bottomCodes.count, n * 16)
        for (level, codes, k) in [(report.top, topCodes, 32), (report.bottom, bottomCodes, 32)] {
            var counts = [Double](repeating: 0, count: k)
            for c in codes { counts[Int(c)] += 1 }
            let used = counts.filter { $0 > 0 }.count
            var entropy = 0.0
            for c in counts where c > 0 { entropy -= c / Double(codes.count) * log(c / Double(codes.count)) }
            XCTAssertEqual(level.codes, k)
            XCTAssertEqual(level.used, used)
            XCTAssertEqual(level.usage, Double(used) / Double(k))
            XCTAssertEqual(level.perplexity, exp(entropy), accuracy: 1e-12 * exp(entropy))
            XCTAssertEqual(level.positions, codes.count)
        }
        XCTAssertGreaterThan(report.top.used, 1, "a test of usage needs more than one code in use")

        let topNats = handNLL(models.top.forward(codes: topCodes, labels: labels, batch: n, dropout: nil), topCodes)
        let bottomNats = handNLL(
            models.bottom.forward(codes: bottomCodes, topCodes: topCodes, labels: labels, batch: n, dropout: nil),
            bottomCodes)
        XCTAssertEqual(report.top.nats, topNats, accuracy: 1e-5 * topNats)
        XCTAssertEqual(report.bottom.nats, bottomNats, accuracy: 1e-5 * bottomNats)
        XCTAssertEqual(report.top.bits, report.top.nats / log(2), accuracy: 1e-12)
        XCTAssertEqual(report.bottom.bits, report.bottom.nats / log(2), accuracy: 1e-12)
    }

    /// Mean -log softmax(logits)[code] in Double.
    private func handNLL(_ logits: Tensor, _ codes: [Int32]) -> Double {
        let k = logits.c, values = logits.array
        var total = 0.0
        for (r, code) in codes.enumerated() {
            let row = values[(r * k)..<((r + 1) * k)].map(Double.init)
            let largest = row.max()!
            let logSum = largest + log(row.reduce(0) { $0 + exp($1 - largest) })
            total += logSum - row[Int(code)]
        }
        return total / Double(codes.count)
    }

    /// Held-out parts of 1, 2 and 3 ranks read through the loader, sums added as an all-reduce would: the same
    /// report. Batches of 2 over 12 images split every way on the same pairs, so only the order of additions
    /// differs (1e-12); batches of 5 split into other batches, where the models' fp32 outputs round differently
    /// (about 1e-9 relative here, hence 1e-7).
    func testRankCountDoesNotChangeTheReport() throws {
        let directory = try TestEnvironment.temporaryDirectory("evaluation")
        defer { try? FileManager.default.removeItem(at: directory) }
        let shards = try writeDemoShard(count: 12, in: directory)
        let models = try TinyModels(initializingFrom: demoImages(12))
        let evaluator = models.evaluator()
        func report(count: Int, worldSize: Int, batch: Int) throws -> EvaluationReport {
            var total = [Double](repeating: 0, count: evaluator.layout.count)
            for rank in 0..<worldSize {
                let partition = EvaluationPartition(count: count, rank: rank, worldSize: worldSize, batch: batch)
                let loader = BatchLoader(shards: shards, schedule: .evaluation(partition), prefetch: 2)
                defer { loader.stop() }
                evaluator.reset()
                try evaluator.accumulate(loader)
                for i in 0..<total.count { total[i] += evaluator.sums[i] }
            }
            return EvaluationReport(sums: total, layout: evaluator.layout, classNames: demoClassNames)
        }
        let one = try report(count: 12, worldSize: 1, batch: 2)
        XCTAssertEqual(one.images, 12)
        XCTAssertEqual(one.top.positions, 12 * 4)
        for world in [2, 3] {
            let split = try report(count: 12, worldSize: world, batch: 2)
            assertReportsClose(one, split, relative: 1e-12, "\(world) ranks")
        }

        // Global batches keep their composition for any world size, so even ragged ones agree to Double rounding.
        let ragged = try report(count: 12, worldSize: 1, batch: 5)
        for world in [2, 3] {
            let split = try report(count: 12, worldSize: world, batch: 5)
            assertReportsClose(ragged, split, relative: 1e-12, "\(world) ranks, ragged batches")
        }
        assertReportsClose(one, ragged, relative: 1e-7, "batches of 2 against 5")
    }

    func testReportEncodesAsJSONAndATable() throws {
        let images = demoImages(6)
        let models = try TinyModels(initializingFrom: images)
        let evaluator = models.evaluator()
        evaluator.accumulate(images: images, labels: demoLabels(6))
        let report = EvaluationReport(
            sums: evaluator.sums, layout: evaluator.layout, classNames: demoClassNames, step: 40)
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: Data(try report.json().utf8))
        XCTAssertEqual(decoded, report)
        let table = report.table
        XCTAssertTrue(table.contains("held-out evaluation: 6 images after step 40"), table)
        XCTAssertTrue(table.contains("horizontal stripes"), table)
        XCTAssertTrue(table.contains(String(format: "PSNR %.2f dB", report.psnr)), table)
        XCTAssertTrue(table.contains("top") && table.contains("bottom"), table)
        print(table)
    }
}
