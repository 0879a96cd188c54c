/// The two quantised levels of VQ-VAE-2.
package enum VQVAELevel: Sendable, CaseIterable, Equatable {
    case top
    case bottom

    /// The level's name in checkpoints, logs and reports.
    package var name: String { self == .top ? "top" : "bottom" }

    /// The key that separates the levels' random streams.
    package var streamKey: UInt64 { self == .top ? 0 : 1 }
}

/// One value for each level: the top and bottom codebooks' usage, commitment losses, restart candidates.
package struct PerLevel<Value> {
    package var top: Value
    package var bottom: Value

    package init(top: Value, bottom: Value) {
        self.top = top
        self.bottom = bottom
    }

    /// The same value for both levels.
    package init(repeating value: Value) {
        self.init(top: value, bottom: value)
    }

    package subscript(level: VQVAELevel) -> Value {
        get { level == .top ? top : bottom }
        set {
            if level == .top { top = newValue } else { bottom = newValue }
        }
    }
}

extension PerLevel: Equatable where Value: Equatable {}
extension PerLevel: Sendable where Value: Sendable {}
