/// The loss terms of one VQ-VAE forward pass.
package struct VQVAELosses: Sendable, Equatable {
    /// mean((reconstruction - images)^2).
    package var reconstruction: Float
    /// mean((sg[e] - z)^2) of the top and bottom levels.
    package var commitmentTop: Float
    package var commitmentBottom: Float
    /// The commitment weight the total was formed with.
    package var beta: Float

    package init(reconstruction: Float, commitmentTop: Float, commitmentBottom: Float, beta: Float) {
        self.reconstruction = reconstruction
        self.commitmentTop = commitmentTop
        self.commitmentBottom = commitmentBottom
        self.beta = beta
    }

    /// The training loss: reconstruction + beta * (commitmentTop + commitmentBottom).
    package var total: Float { reconstruction + beta * (commitmentTop + commitmentBottom) }
}
