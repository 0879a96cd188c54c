import Foundation

/// The training and held-out curves of a run, read back from its `metrics.jsonl` (one JSON object per line, as
/// `MetricsLog` writes: `{"kind":"train","step":..,"reconstruction":..,"topNats":..,"bottomNats":..,...}` and
/// `{"kind":"eval",...}` holding an `EvaluationReport`).
///
/// A train record contributes its reconstruction unless its schedule is "priors" and its prior NLLs unless its
/// schedule is "vqvae" (those schedules log zeros for what they do not train). Records of other kinds are
/// skipped, so that the log can grow new kinds without breaking old plots.
package struct MetricsHistory: Sendable, Equatable {
    /// One value at one step.
    package struct Point: Sendable, Equatable {
        package var step: Double
        package var value: Double
        package init(step: Double, value: Double) {
            self.step = step
            self.value = value
        }
    }

    package var trainReconstruction: [Point] = []
    package var trainTopNats: [Point] = []
    package var trainBottomNats: [Point] = []
    package var heldOutReconstruction: [Point] = []
    package var heldOutTopNats: [Point] = []
    package var heldOutBottomNats: [Point] = []

    package init() {}

    /// Reads the metrics file at `path`.
    package init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MetricsFileError(path: path, line: nil, reason: "cannot read the file")
        }
        try self.init(text: String(decoding: data, as: UTF8.self), path: path)
    }

    /// Parses metrics lines; `path` names the source in errors.
    package init(text: String, path: String) throws {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            func fail(_ reason: String) -> MetricsFileError {
                MetricsFileError(path: path, line: index + 1, reason: reason)
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)),
                let record = object as? [String: Any]
            else { throw fail("not a JSON object: \(trimmed.prefix(60))") }
            guard let kind = record["kind"] as? String else { throw fail("no \"kind\" field") }
            func number(_ object: [String: Any], _ key: String, in name: String = "") throws -> Double {
                guard let value = object[key] as? NSNumber else {
                    throw fail("\(kind) record has no number \"\(name)\(key)\"")
                }
                return value.doubleValue
            }
            func level(_ key: String) throws -> Double {
                guard let object = record[key] as? [String: Any] else {
                    throw fail("\(kind) record has no object \"\(key)\"")
                }
                return try number(object, "nats", in: key + ".")
            }
            switch kind {
            case "train":
                let step = try number(record, "step")
                let schedule = record["schedule"] as? String
                if schedule != "priors" {
                    trainReconstruction.append(Point(step: step, value: try number(record, "reconstruction")))
                }
                if schedule != "vqvae" {
                    trainTopNats.append(Point(step: step, value: try number(record, "topNats")))
                    trainBottomNats.append(Point(step: step, value: try number(record, "bottomNats")))
                }
            case "eval":
                let step = try number(record, "step")
                heldOutReconstruction.append(Point(step: step, value: try number(record, "reconstruction")))
                heldOutTopNats.append(Point(step: step, value: try level("top")))
                heldOutBottomNats.append(Point(step: step, value: try level("bottom")))
            default:
                continue
            }
        }
    }
}

/// A metrics file that cannot be plotted: the file, the 1-based line where known, and why.
package struct MetricsFileError: Error, CustomStringConvertible, Equatable {
    package let path: String
    package let line: Int?
    package let reason: String

    package var description: String { "\(path)\(line.map { ":\($0)" } ?? ""): \(reason)" }
}
