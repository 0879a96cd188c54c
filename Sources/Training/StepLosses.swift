import Model

/// The loss terms of one training step: reconstruction and commitment of the VQ-VAE, cross-entropy of the priors.
package struct StepLosses: Sendable, Equatable {
    /// Mean squared error of the reconstruction on [-1, 1].
    package var reconstruction = 0.0
    /// mean((sg[e] - z)^2) per level.
    package var commitment = PerLevel(repeating: 0.0)
    /// Prior cross-entropy in nats per code, per level.
    package var priorNats = PerLevel(repeating: 0.0)

    package init() {}

    /// The terms in a fixed order, for sums over ranks.
    package var values: [Double] {
        [reconstruction, commitment.top, commitment.bottom, priorNats.top, priorNats.bottom]
    }

    /// The terms of `values`' order.
    package init(values: [Double]) {
        precondition(values.count == 5, "StepLosses from \(values.count) values")
        reconstruction = values[0]
        commitment = PerLevel(top: values[1], bottom: values[2])
        priorNats = PerLevel(top: values[3], bottom: values[4])
    }

    package var isFinite: Bool { values.allSatisfy(\.isFinite) }

    /// Every term divided by `divisor` (a sum over micro-batches or ranks to a mean).
    package func averaged(over divisor: Int) -> StepLosses {
        StepLosses(values: values.map { $0 / Double(divisor) })
    }
}
