/// The loss terms of one VQ-VAE forward pass.
public struct VQVAELosses: Sendable, Equatable {
    /// mean((reconstruction - images)^2).
    public var reconstruction: Float
    /// mean((sg[e] - z)^2) of the top and bottom levels.
    public var commitmentTop: Float
    public var commitmentBottom: Float
    /// The commitment weight the total was formed with.
    public var beta: Float

    public init(reconstruction: Float, commitmentTop: Float, commitmentBottom: Float, beta: Float) {
        self.reconstruction = reconstruction
        self.commitmentTop = commitmentTop
        self.commitmentBottom = commitmentBottom
        self.beta = beta
    }

    /// The training loss: reconstruction + beta * (commitmentTop + commitmentBottom).
    public var total: Float { reconstruction + beta * (commitmentTop + commitmentBottom) }
}
