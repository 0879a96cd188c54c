/// The VQ-VAE-2 model family: hierarchical VQ-VAE with EMA codebooks and its gated PixelCNN priors.
public enum ModelFamily {}
