/// The three models a replica trains, each with its own parameter store and Adam.
package enum ModelPart: Sendable, CaseIterable, Equatable {
    case vqvae
    case topPrior
    case bottomPrior

    /// The part's name in checkpoints, exports and logs.
    package var name: String {
        switch self {
        case .vqvae: return "vqvae"
        case .topPrior: return "top_prior"
        case .bottomPrior: return "bottom_prior"
        }
    }

    package var isPrior: Bool { self != .vqvae }
}

/// One value for each model part: parameter stores, optimisers.
package struct PerPart<Value> {
    package var vqvae: Value
    package var topPrior: Value
    package var bottomPrior: Value

    package init(vqvae: Value, topPrior: Value, bottomPrior: Value) {
        self.vqvae = vqvae
        self.topPrior = topPrior
        self.bottomPrior = bottomPrior
    }

    /// Builds each part's value from the part.
    package init(_ make: (ModelPart) throws -> Value) rethrows {
        self.init(vqvae: try make(.vqvae), topPrior: try make(.topPrior), bottomPrior: try make(.bottomPrior))
    }

    package subscript(part: ModelPart) -> Value {
        switch part {
        case .vqvae: return vqvae
        case .topPrior: return topPrior
        case .bottomPrior: return bottomPrior
        }
    }

    /// The values in `ModelPart.allCases` order (the order of buckets, checkpoints and logs).
    package var all: [Value] { ModelPart.allCases.map { self[$0] } }
}
