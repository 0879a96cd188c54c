import Evaluation
import Foundation
import TensorBoard

/// The run's TensorBoard event files, in the run directory (rank 0 only): the logged train metrics and the
/// held-out reports as scalars, the reconstruction and sample grids as images.
///
/// No step appears twice, the metrics log's rule. A resumed run writes a new file whose first event after the
/// version is a SessionLog START at the first step it takes (the resumed step + 1): TensorBoard then drops what
/// earlier files hold of that step and later ones (written before a crash, by steps the run takes again), as the
/// metrics log drops its records after the resumed step. TensorBoard keeps the events of steps below the START's,
/// and those of the resumed step describe the state the checkpoint holds. A tag and step that the directory's files
/// already show are not written again, and the file is created with the first event that is new: a rerun of a
/// finished run adds no file.
package final class RunEvents {
    package let directory: String
    private let resumedStep: Int?
    private var shown: Set<Shown> = []
    private var writer: EventFileWriter?

    private struct Shown: Hashable {
        var tag: String
        var step: Int64
    }

    /// The file this run writes, once it wrote something.
    package var path: String? { writer?.path }

    /// Reads what the event files already in `runDirectory` show, as TensorBoard would; `warn` hears of a damaged
    /// file, whose events after the damage TensorBoard does not show either.
    package init(runDirectory: String, resumedStep: Int?, warn: (String) -> Void) throws {
        directory = runDirectory
        self.resumedStep = resumedStep
        for file in EventFileReader.files(in: runDirectory) {
            let (events, error) = try EventFileReader.scan(file)
            // A cut-off last record is what a crash mid-write leaves; TensorBoard reads up to it without a word.
            if let error, !error.isTruncation { warn("train: warning: \(error); the events after it are not shown") }
            for event in events { show(event) }
        }
        if let resumedStep { shown = shown.filter { $0.step <= resumedStep } }
    }

    /// TensorBoard's reading of one event: a START drops every step from its own on.
    private func show(_ event: Event) {
        switch event.what {
        case .sessionLog(.start): shown = shown.filter { $0.step < event.step }
        case .summary(let values): for value in values { shown.insert(Shown(tag: value.tag, step: event.step)) }
        default: break
        }
    }

    /// The metrics of one logged step, under train/: the fields of the parts the schedule trains, and the rate.
    package func record(_ m: StepMetrics) throws {
        var scalars: [(String, Double)] = []
        if m.schedule.trainedParts.contains(.vqvae) {
            scalars += [
                ("mse", m.reconstruction), ("commitment_top", m.commitmentTop), ("commitment_bottom", m.commitmentBottom),
                ("usage_top", m.topUsage), ("live_top", m.topLive), ("perplexity_top", m.topPerplexity),
                ("usage_bottom", m.bottomUsage), ("live_bottom", m.bottomLive), ("perplexity_bottom", m.bottomPerplexity),
                ("restarted_top", Double(m.restartedTop)), ("restarted_bottom", Double(m.restartedBottom)),
            ]
        }
        if m.schedule.trainedParts.contains(where: \.isPrior) {
            scalars += [("prior_nats_top", m.topNats), ("prior_nats_bottom", m.bottomNats)]
        }
        scalars += [
            ("learning_rate", m.learningRate), ("images", Double(m.images)), ("seconds", m.seconds),
            ("exposed_communication_seconds", m.exposedCommunication), ("images_per_second", m.imagesPerSecond),
        ]
        try write(step: m.step, scalars.map { SummaryValue(tag: "train/" + $0.0, .scalar(Float($0.1))) })
    }

    /// A held-out report, under eval/: every figure but the per-class ones, which stay in metrics.jsonl (a
    /// thousand classes would be thousands of curves).
    package func record(_ report: EvaluationReport, step: Int) throws {
        var scalars: [(String, Double)] = [
            ("images", Double(report.images)), ("mse", report.reconstruction), ("mse_unit", report.reconstructionUnit),
            ("psnr", report.psnr),
        ]
        for (name, level) in [("top", report.top), ("bottom", report.bottom)] {
            scalars += [
                ("codes_" + name, Double(level.codes)), ("used_" + name, Double(level.used)), ("usage_" + name, level.usage),
                ("perplexity_" + name, level.perplexity), ("positions_" + name, Double(level.positions)),
                ("prior_nats_" + name, level.nats), ("prior_bits_" + name, level.bits),
            ]
        }
        try write(step: step, scalars.map { SummaryValue(tag: "eval/" + $0.0, .scalar(Float($0.1))) })
    }

    /// The PNG file at `path` as the image `tag` of `step`.
    package func image(_ tag: String, png path: String, step: Int) throws {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw EventFileError.io(path: path, message: "cannot read the picture for the event file")
        }
        try write(step: step, [SummaryValue(tag: tag, .image(try EncodedImage(png: [UInt8](bytes), path: path)))])
    }

    private func write(step: Int, _ values: [SummaryValue]) throws {
        let new = values.filter { !shown.contains(Shown(tag: $0.tag, step: Int64(step))) }
        guard !new.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        var events: [Event] = []
        if writer == nil {
            writer = try EventFileWriter(directory: directory, wallTime: now)
            if let resumedStep { events.append(Event(wallTime: now, step: Int64(resumedStep + 1), what: .sessionLog(.start))) }
        }
        events.append(Event(wallTime: now, step: Int64(step), what: .summary(new)))
        try writer?.write(events)
        for value in new { shown.insert(Shown(tag: value.tag, step: Int64(step))) }
    }
}
