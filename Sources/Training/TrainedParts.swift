extension ExperimentConfig.Schedule: Codable {
    /// The model parts a step of this schedule trains.
    package var trainedParts: [ModelPart] {
        switch self {
        case .joint: return ModelPart.allCases
        case .vqvae: return [.vqvae]
        case .priors: return [.topPrior, .bottomPrior]
        }
    }
}
