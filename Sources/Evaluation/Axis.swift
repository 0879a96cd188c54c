import Foundation

/// A plot axis: where a value falls along it (0 at the low end, 1 at the high end) and its labelled ticks.
struct Axis {
    struct Tick {
        var value: Double
        var label: String
    }

    let low: Double
    let high: Double
    let isLogarithmic: Bool
    let ticks: [Tick]

    /// The fraction of the axis at which `value` lies.
    func position(_ value: Double) -> Double {
        let v = isLogarithmic ? log10(value) : value
        return (v - low) / (high - low)
    }

    /// A linear axis from `minimum` to `maximum` on round ticks 1, 2 or 5 times a power of ten apart, widened to
    /// the ticks around the data; `integers` keeps ticks whole (training steps).
    static func linear(_ minimum: Double, _ maximum: Double, integers: Bool) -> Axis {
        var lo = minimum, hi = maximum
        if hi - lo <= 0 {
            let pad = max(abs(lo) * 0.1, integers ? 1 : 1e-3)
            lo -= pad
            hi += pad
        }
        var step = roundStep((hi - lo) / 6)
        if integers { step = max(step, 1) }
        let first = (lo / step).rounded(.down) * step, last = (hi / step).rounded(.up) * step
        var ticks: [Tick] = []
        var i = 0
        while first + Double(i) * step <= last + step * 1e-9 {
            let v = first + Double(i) * step
            ticks.append(Tick(value: v, label: label(v, step: step)))
            i += 1
        }
        return Axis(low: first, high: last, isLogarithmic: false, ticks: ticks)
    }

    /// A log10 axis over whole decades around positive `minimum` ... `maximum`, ticked at every power of ten and,
    /// when at most two decades show, at 2 and 5 times them.
    static func logarithmic(_ minimum: Double, _ maximum: Double) -> Axis {
        let lo = log10(minimum).rounded(.down), hi = max(log10(maximum).rounded(.up), lo + 1)
        let multiples: [Double] = hi - lo <= 2 ? [1, 2, 5] : [1]
        var ticks: [Tick] = []
        for decade in Int(lo)...Int(hi) {
            for m in multiples {
                let v = m * pow(10, Double(decade))
                if log10(v) <= hi + 1e-9 { ticks.append(Tick(value: v, label: label(v, step: v))) }
            }
        }
        return Axis(low: lo, high: hi, isLogarithmic: true, ticks: ticks)
    }

    /// 1, 2 or 5 times a power of ten, the nearest at or above `raw`.
    static func roundStep(_ raw: Double) -> Double {
        let power = pow(10, log10(raw).rounded(.down))
        for m in [1.0, 2, 5] where m * power >= raw * (1 - 1e-9) { return m * power }
        return 10 * power
    }

    /// `value` with as many decimals as `step` needs; very small or large magnitudes as 2e-5 or 1.5e6.
    static func label(_ value: Double, step: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude < 1e-3 || magnitude >= 1e6 {
            var text = String(format: "%.1e", value)
            text = text.replacingOccurrences(of: ".0e", with: "e").replacingOccurrences(of: "e-0", with: "e-")
                .replacingOccurrences(of: "e+0", with: "e").replacingOccurrences(of: "e+", with: "e")
            return text
        }
        let decimals = max(0, -Int((log10(step) + 1e-9).rounded(.down)))
        return String(format: "%.\(decimals)f", value)
    }
}
