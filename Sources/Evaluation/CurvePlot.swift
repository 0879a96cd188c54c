import Foundation
import ImageCodecs

/// The training and held-out curves of a run as one PNG: reconstruction MSE on the left, prior NLL (nats per
/// code) on the right, train values as thin lines and held-out values as thick lines with markers.
///
/// Drawn by our own code (axes, ticks, legend and `BitmapFont` labels on a `Canvas`, written through libpng)
/// because the alternative, gnuplot or matplotlib, would add a dependency the setup must install on every machine
/// for one picture; a few hundred lines of plain drawing need nothing beyond the libpng we already link.
package struct CurvePlot: Sendable {
    package var width: Int
    package var height: Int
    /// Logarithmic value axes: losses fall over orders of magnitude (non-positive values are then left out).
    package var logScale: Bool

    package init(width: Int = 1200, height: Int = 480, logScale: Bool = true) {
        precondition(width >= 400 && height >= 200, "a plot of \(width)x\(height) is too small to read")
        self.width = width
        self.height = height
        self.logScale = logScale
    }

    /// A named series and how it is drawn.
    struct Series {
        var name: String
        var points: [MetricsHistory.Point]
        var colour: Canvas.Colour
        var heldOut: Bool
    }

    static let blue = Canvas.Colour(31, 119, 180)
    static let orange = Canvas.Colour(255, 127, 14)
    static let green = Canvas.Colour(44, 160, 44)
    static let red = Canvas.Colour(214, 39, 40)
    static let frame = Canvas.Colour(60, 60, 60)
    static let grid = Canvas.Colour(225, 225, 225)

    /// The plot of `history`.
    package func image(of history: MetricsHistory) -> RGBImage {
        var canvas = Canvas(width: width, height: height, background: .white)
        let half = width / 2
        drawPanel(
            &canvas, x: 0, width: half, title: "reconstruction MSE [-1,1]", yLabel: "MSE",
            series: [
                Series(name: "train", points: history.trainReconstruction, colour: CurvePlot.blue, heldOut: false),
                Series(
                    name: "held-out", points: history.heldOutReconstruction, colour: CurvePlot.orange, heldOut: true),
            ])
        drawPanel(
            &canvas, x: half, width: width - half, title: "prior NLL", yLabel: "nats per code",
            series: [
                Series(name: "train top", points: history.trainTopNats, colour: CurvePlot.blue, heldOut: false),
                Series(name: "train bottom", points: history.trainBottomNats, colour: CurvePlot.green, heldOut: false),
                Series(name: "held-out top", points: history.heldOutTopNats, colour: CurvePlot.orange, heldOut: true),
                Series(
                    name: "held-out bottom", points: history.heldOutBottomNats, colour: CurvePlot.red, heldOut: true),
            ])
        return canvas.image
    }

    /// Plots the metrics file at `metricsPath` into a PNG at `path`.
    package func write(metrics metricsPath: String, to path: String) throws {
        try ImageCodecs.writePNG(image(of: try MetricsHistory(contentsOf: metricsPath)), to: path)
    }

    private func drawPanel(
        _ canvas: inout Canvas, x: Int, width panelWidth: Int, title: String, yLabel: String, series all: [Series]
    ) {
        let left = x + 78, right = x + panelWidth - 20, top = 40, bottom = height - 46
        let plotWidth = right - left, plotHeight = bottom - top
        canvas.text(title, x: left + (plotWidth - BitmapFont.width(title, scale: 2)) / 2, y: 12, .black, scale: 2)
        canvas.text("step", x: left + (plotWidth - BitmapFont.width("step")) / 2, y: height - 16, .black)
        canvas.verticalText(yLabel, x: x + 8, bottom: top + (plotHeight + BitmapFont.width(yLabel)) / 2, .black)

        let series = all.map { s -> Series in
            var kept = s
            kept.points = s.points.filter { $0.step.isFinite && $0.value.isFinite && (!logScale || $0.value > 0) }
            return kept
        }.filter { !$0.points.isEmpty }
        let points = series.flatMap(\.points)
        guard !points.isEmpty else {
            canvas.line(left, top, right, top, CurvePlot.frame)
            canvas.line(left, bottom, right, bottom, CurvePlot.frame)
            canvas.line(left, top, left, bottom, CurvePlot.frame)
            canvas.line(right, top, right, bottom, CurvePlot.frame)
            let note = "no data"
            canvas.text(
                note, x: left + (plotWidth - BitmapFont.width(note, scale: 2)) / 2, y: top + plotHeight / 2, .black,
                scale: 2)
            return
        }
        let xAxis = Axis.linear(points.map(\.step).min()!, points.map(\.step).max()!, integers: true)
        let values = points.map(\.value)
        let yAxis =
            logScale
            ? Axis.logarithmic(values.min()!, values.max()!)
            : Axis.linear(values.min()!, values.max()!, integers: false)
        func px(_ step: Double) -> Int { left + Int((xAxis.position(step) * Double(plotWidth)).rounded()) }
        func py(_ value: Double) -> Int { bottom - Int((yAxis.position(value) * Double(plotHeight)).rounded()) }

        for tick in xAxis.ticks {
            let p = px(tick.value)
            canvas.line(p, top, p, bottom, CurvePlot.grid)
            canvas.line(p, bottom, p, bottom + 4, CurvePlot.frame)
            canvas.text(tick.label, x: p - BitmapFont.width(tick.label) / 2, y: bottom + 8, .black)
        }
        for tick in yAxis.ticks {
            let p = py(tick.value)
            canvas.line(left, p, right, p, CurvePlot.grid)
            canvas.line(left - 4, p, left, p, CurvePlot.frame)
            canvas.text(tick.label, x: left - 8 - BitmapFont.width(tick.label), y: p - 3, .black)
        }
        canvas.line(left, top, right, top, CurvePlot.frame)
        canvas.line(left, bottom, right, bottom, CurvePlot.frame)
        canvas.line(left, top, left, bottom, CurvePlot.frame)
        canvas.line(right, top, right, bottom, CurvePlot.frame)

        canvas.clip = (left, top, right + 1, bottom + 1)
        for s in series {
            let sorted = s.points.sorted { $0.step < $1.step }
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                canvas.line(px(a.step), py(a.value), px(b.step), py(b.value), s.colour, thickness: s.heldOut ? 2 : 1)
            }
            if s.heldOut {
                for p in sorted { canvas.fill(x: px(p.step) - 2, y: py(p.value) - 2, width: 5, height: 5, s.colour) }
            }
        }
        canvas.clip = (0, 0, canvas.width, canvas.height)
        drawLegend(&canvas, series, right: right, top: top)
    }

    /// A boxed legend in the panel's top-right corner: a short line of each series' colour and its name.
    private func drawLegend(_ canvas: inout Canvas, _ series: [Series], right: Int, top: Int) {
        let rowHeight = 14, swatch = 18
        let textWidth = series.map { BitmapFont.width($0.name) }.max() ?? 0
        let boxWidth = 8 + swatch + 6 + textWidth + 8, boxHeight = 6 + series.count * rowHeight + 2
        let x0 = right - 8 - boxWidth, y0 = top + 8
        canvas.fill(x: x0, y: y0, width: boxWidth, height: boxHeight, .white)
        canvas.line(x0, y0, x0 + boxWidth, y0, CurvePlot.frame)
        canvas.line(x0, y0 + boxHeight, x0 + boxWidth, y0 + boxHeight, CurvePlot.frame)
        canvas.line(x0, y0, x0, y0 + boxHeight, CurvePlot.frame)
        canvas.line(x0 + boxWidth, y0, x0 + boxWidth, y0 + boxHeight, CurvePlot.frame)
        for (i, s) in series.enumerated() {
            let y = y0 + 6 + i * rowHeight
            canvas.line(x0 + 8, y + 3, x0 + 8 + swatch, y + 3, s.colour, thickness: s.heldOut ? 2 : 1)
            if s.heldOut { canvas.fill(x: x0 + 8 + swatch / 2 - 2, y: y + 1, width: 5, height: 5, s.colour) }
            canvas.text(s.name, x: x0 + 8 + swatch + 6, y: y, .black)
        }
    }
}
