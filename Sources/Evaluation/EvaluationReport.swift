import Foundation

/// The held-out figures of one evaluation, reduced over every rank: what `evaluate` prints and writes as JSON,
/// and what training logs as `"kind": "eval"` records beside its own.
package struct EvaluationReport: Codable, Sendable, Equatable {
    /// The training step the model had completed, when the evaluation ran inside training.
    package var step: Int?
    package var images: Int
    /// Mean squared error of the reconstruction on [-1, 1]: the training loss's `reconstruction` term.
    package var reconstruction: Double
    /// Mean squared error on [0, 1], the reconstruction clamped to [0, 1].
    package var reconstructionUnit: Double
    /// 10 log10(1 / `reconstructionUnit`) in dB (peak 1), capped at `EvaluationReport.psnrCap`.
    package var psnr: Double
    package var top: LevelReport
    package var bottom: LevelReport
    /// Every class with at least one held-out image, by label.
    package var perClass: [ClassReport]

    /// The PSNR of an exact reconstruction, which would otherwise be infinite (and not representable in JSON).
    package static let psnrCap = 100.0

    /// One level's codebook use over the whole held-out set and its prior's NLL on the held-out codes.
    package struct LevelReport: Codable, Sendable, Equatable {
        /// K.
        package var codes: Int
        /// Codes chosen at least once.
        package var used: Int
        /// used / K.
        package var usage: Double
        /// exp(-sum p_i log p_i) with p_i = n_i / sum n: K for uniform use, 1 for a collapsed codebook.
        package var perplexity: Double
        /// Code positions the prior scored.
        package var positions: Int
        /// Prior NLL per code in nats and in bits.
        package var nats: Double
        package var bits: Double
    }

    /// Reconstruction error of one class's held-out images.
    package struct ClassReport: Codable, Sendable, Equatable {
        package var label: Int
        package var name: String
        package var images: Int
        package var reconstruction: Double
        package var reconstructionUnit: Double
        package var psnr: Double
    }

    /// The report of `sums` (the all-reduced buffer of `layout`); `classNames[label]` names a class where given.
    package init(sums: [Double], layout: EvaluationLayout, classNames: [String] = [], step: Int? = nil) {
        precondition(sums.count == layout.count, "\(sums.count) sums for a layout of \(layout.count)")
        self.step = step
        images = Int(sums[EvaluationLayout.images])
        reconstruction = EvaluationReport.ratio(sums[EvaluationLayout.squaredError], sums[EvaluationLayout.values])
        reconstructionUnit = EvaluationReport.ratio(
            sums[EvaluationLayout.squaredErrorUnit], sums[EvaluationLayout.values])
        psnr = EvaluationReport.psnr(reconstructionUnit)
        top = EvaluationReport.level(
            sums, counts: layout.topCounts, codes: layout.topCodes, nats: EvaluationLayout.topNats,
            positions: EvaluationLayout.topPositions)
        bottom = EvaluationReport.level(
            sums, counts: layout.bottomCounts, codes: layout.bottomCodes, nats: EvaluationLayout.bottomNats,
            positions: EvaluationLayout.bottomPositions)
        perClass = []
        for label in 0..<layout.classes {
            let o = layout.classOffset(label)
            guard sums[o + EvaluationLayout.images] > 0 else { continue }
            let mseUnit = EvaluationReport.ratio(
                sums[o + EvaluationLayout.squaredErrorUnit], sums[o + EvaluationLayout.values])
            perClass.append(
                ClassReport(
                    label: label, name: label < classNames.count ? classNames[label] : "",
                    images: Int(sums[o + EvaluationLayout.images]),
                    reconstruction: EvaluationReport.ratio(
                        sums[o + EvaluationLayout.squaredError], sums[o + EvaluationLayout.values]),
                    reconstructionUnit: mseUnit, psnr: EvaluationReport.psnr(mseUnit)))
        }
    }

    private static func ratio(_ sum: Double, _ count: Double) -> Double { count > 0 ? sum / count : 0 }

    private static func psnr(_ mse: Double) -> Double { min(psnrCap, -10 * log10(mse)) }

    private static func level(
        _ sums: [Double], counts: Int, codes k: Int, nats: Int, positions: Int
    ) -> LevelReport {
        var total = 0.0
        var used = 0
        for i in 0..<k where sums[counts + i] > 0 {
            total += sums[counts + i]
            used += 1
        }
        var entropy = 0.0
        for i in 0..<k where sums[counts + i] > 0 {
            let p = sums[counts + i] / total
            entropy -= p * log(p)
        }
        let natsPerCode = ratio(sums[nats], sums[positions])
        return LevelReport(
            codes: k, used: used, usage: Double(used) / Double(k), perplexity: exp(entropy),
            positions: Int(sums[positions]), nats: natsPerCode, bits: natsPerCode / M_LN2)
    }

    /// The report as pretty-printed JSON with sorted keys.
    package func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// The report as a plain-text table for people.
    package var table: String {
        var lines: [String] = []
        lines.append("held-out evaluation: \(images) images" + (step.map { " after step \($0)" } ?? ""))
        lines.append(
            String(
                format: "reconstruction MSE  %.6f on [-1,1]   %.6f on [0,1]   PSNR %.2f dB", reconstruction,
                reconstructionUnit, psnr))
        lines.append("")
        lines.append("level      codes    used   usage  perplexity   prior nats/code   bits/code")
        for (name, level) in [("top", top), ("bottom", bottom)] {
            lines.append(
                EvaluationReport.padded(name, 6)
                    + String(
                        format: " %10d %7d %6.1f%% %11.2f %17.4f %11.4f", level.codes, level.used,
                        100 * level.usage, level.perplexity, level.nats, level.bits))
        }
        lines.append("")
        let nameWidth = max(4, perClass.map(\.name.count).max() ?? 0)
        lines.append(
            "class  " + EvaluationReport.padded("name", nameWidth) + "  images   MSE[-1,1]    MSE[0,1]   PSNR dB")
        for entry in perClass {
            lines.append(
                String(format: "%5d  ", entry.label) + EvaluationReport.padded(entry.name, nameWidth)
                    + String(
                        format: " %7d %11.6f %11.6f %9.2f", entry.images, entry.reconstruction,
                        entry.reconstructionUnit, entry.psnr))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
