/// The two quantised levels of VQ-VAE-2.
public enum VQVAELevel: Sendable, CaseIterable, Equatable {
    case top
    case bottom

    /// The level's name in checkpoints, logs and reports.
    public var name: String { self == .top ? "top" : "bottom" }

    /// The key that separates the levels' random streams.
    public var streamKey: UInt64 { self == .top ? 0 : 1 }
}

/// One value for each level: the top and bottom codebooks' usage, commitment losses, restart candidates.
public struct PerLevel<Value> {
    public var top: Value
    public var bottom: Value

    public init(top: Value, bottom: Value) {
        self.top = top
        self.bottom = bottom
    }

    /// The same value for both levels.
    public init(repeating value: Value) {
        self.init(top: value, bottom: value)
    }

    public subscript(level: VQVAELevel) -> Value {
        get { level == .top ? top : bottom }
        set {
            if level == .top { top = newValue } else { bottom = newValue }
        }
    }

    public func map<T>(_ transform: (Value) throws -> T) rethrows -> PerLevel<T> {
        PerLevel<T>(top: try transform(top), bottom: try transform(bottom))
    }
}

extension PerLevel: Equatable where Value: Equatable {}
extension PerLevel: Sendable where Value: Sendable {}
