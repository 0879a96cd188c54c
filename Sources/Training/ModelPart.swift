/// The three models a replica trains, each with its own parameter store and Adam.
public enum ModelPart: Sendable, CaseIterable, Equatable {
    case vqvae
    case topPrior
    case bottomPrior

    /// The part's name in checkpoints, exports and logs.
    public var name: String {
        switch self {
        case .vqvae: return "vqvae"
        case .topPrior: return "top_prior"
        case .bottomPrior: return "bottom_prior"
        }
    }

    public var isPrior: Bool { self != .vqvae }
}

/// One value for each model part: parameter stores, optimisers.
public struct PerPart<Value> {
    public var vqvae: Value
    public var topPrior: Value
    public var bottomPrior: Value

    public init(vqvae: Value, topPrior: Value, bottomPrior: Value) {
        self.vqvae = vqvae
        self.topPrior = topPrior
        self.bottomPrior = bottomPrior
    }

    /// Builds each part's value from the part.
    public init(_ make: (ModelPart) throws -> Value) rethrows {
        self.init(vqvae: try make(.vqvae), topPrior: try make(.topPrior), bottomPrior: try make(.bottomPrior))
    }

    public subscript(part: ModelPart) -> Value {
        switch part {
        case .vqvae: return vqvae
        case .topPrior: return topPrior
        case .bottomPrior: return bottomPrior
        }
    }

    /// The values in `ModelPart.allCases` order (the order of buckets, checkpoints and logs).
    public var all: [Value] { ModelPart.allCases.map { self[$0] } }
}
