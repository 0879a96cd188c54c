import Numerics

/// The hierarchical VQ-VAE of VQ-VAE-2 (arXiv 1906.00446) with EMA codebooks, on NHWC fp32 images in [-1, 1].
///
/// Construction registers every trainable parameter in `store` (which must be empty: one store per model); the
/// caller then calls `store.materialize(seed:)`. Codebooks are not parameters: they are EMA state in `top` and
/// `bottom`, moved by `applyEMAUpdate` rather than by the optimiser.
///
/// Before the first step the codebooks are initialised from data: `initializeCodebooks(from:)` on one process, or
/// per level on several ranks (all-gather `quantizerInput(for:level: .top)` in global sample order, call
/// `top.initialize(from:count:)`, then the same for `.bottom`, whose input depends on the top codes).
///
/// One training step, with M micro-batches per rank:
///  1. `store.zeroGradients()`;
///  2. for each micro-batch: `forward(images, training: true)` (also adds the micro-batch's EMA statistics to
///     `emaStatistics`), then `backward(scale:)` (adds its gradients to the store's);
///  3. distributed: all-reduce the store's gradients, and sum `emaStatistics` over ranks in place (one buffer);
///  4. the optimiser updates the parameters from the gradients;
///  5. `applyEMAUpdate()` from the summed statistics, which also clears `emaStatistics`;
///  6. `restartDeadCodes()` when `restartsDue` (or, distributed, each level's restart from gathered candidates).
/// Micro-batch a then b accumulates exactly a + b (gradients and statistics), as a two-rank all-reduce does.
package final class VQVAE {
    package let config: VQVAEConfig
    package let store: ParameterStore
    /// The top (H/8) and bottom (H/4) quantisers.
    package let top: EMAQuantizer
    package let bottom: EMAQuantizer
    /// Both levels' statistics of this rank's micro-batches since the last update: [top | bottom], each laid out
    /// [K counts | K*D sums] as `EMAQuantizer` documents. Ranks sum it in place before `applyEMAUpdate`.
    package let emaStatistics: UnsafeMutableBufferPointer<Float>

    private let bottomEncoder: Encoder
    private let topEncoder: Encoder
    /// The 1x1 convolutions that project features onto the code dimension before each quantiser.
    private let topProjection: Conv2D
    private let topDecoder: Decoder
    private let bottomProjection: Conv2D
    private let topUpsample: ConvTranspose2D
    private let decoder: Decoder
    /// concat(top decoder output, bottom encoder output): the bottom level's conditioning on the top.
    private let conditioning = ChannelConcat()
    /// concat(upsampled top codes, bottom codes): the decoder's input.
    private let codes = ChannelConcat()
    private let meanSquaredError = MeanSquaredError()
    private let topCodeVectors = Tensor(shape: [0])
    private let bottomCodeVectors = Tensor(shape: [0])
    private let topCodeGradient = Tensor(shape: [0])
    private let bottomFeatureGradient = Tensor(shape: [0])
    private let imageGradient = Tensor(shape: [0])
    /// Sums each micro-batch's gradients and statistics from zero before adding them to the earlier ones'.
    private let gradientSum = MicroBatchSum()
    private let statisticsSum = MicroBatchSum()
    private var readyForBackward = false
    private var lastOutput: Tensor?
    private var lastTopInput: Tensor?
    private var lastBottomInput: Tensor?

    /// Builds the network in `store` (empty); `seed` keys the codebook initialisation and restart streams.
    package init(_ store: ParameterStore, config: VQVAEConfig, seed: UInt64 = 0) throws {
        try config.validate()
        precondition(store.count == 0 && !store.isMaterialized, "a VQ-VAE needs an empty parameter store of its own")
        self.config = config
        self.store = store
        let c = config.channels, d = config.codeDim
        bottomEncoder = Encoder(store, name: "encoder.bottom", inChannels: config.imageChannels, config: config,
                                stride: 4)
        topEncoder = Encoder(store, name: "encoder.top", inChannels: c, config: config, stride: 2)
        topProjection = Conv2D(store, name: "quantize.top.input", inChannels: c, outChannels: d, kernel: 1)
        topDecoder = Decoder(store, name: "decoder.top", inChannels: d, outChannels: d, config: config, stride: 2)
        bottomProjection = Conv2D(store, name: "quantize.bottom.input", inChannels: d + c, outChannels: d, kernel: 1)
        topUpsample = ConvTranspose2D(store, name: "upsample.top", inChannels: d, outChannels: d, kernel: 4, stride: 2,
                                      padding: 1)
        decoder = Decoder(store, name: "decoder", inChannels: 2 * d, outChannels: config.imageChannels,
                          config: config, stride: 4)
        func quantizer(_ level: VQVAELevel) -> EMAQuantizer {
            EMAQuantizer(
                numCodes: config.codebookSize, dimension: d, seed: seed, level: level,
                decay: config.emaDecay, epsilon: config.emaEpsilon, deadCodeThreshold: config.deadCodeThreshold)
        }
        top = quantizer(.top)
        bottom = quantizer(.bottom)
        emaStatistics = .allocate(capacity: top.statisticsCount + bottom.statisticsCount)
        emaStatistics.initialize(repeating: 0)
    }

    deinit { emaStatistics.deallocate() }

    /// The quantiser of `level`.
    package func quantizer(_ level: VQVAELevel) -> EMAQuantizer { level == .top ? top : bottom }

    /// Where `level`'s statistics start in `emaStatistics`.
    package func statisticsOffset(_ level: VQVAELevel) -> Int { level == .top ? 0 : top.statisticsCount }

    private func checkImages(_ images: Tensor) {
        precondition(
            images.shape.count == 4 && images.c == config.imageChannels && images.h % 8 == 0 && images.w % 8 == 0
                && images.h > 0 && images.w > 0,
            "images \(images.shape): expected [N, H, W, \(config.imageChannels)] with H and W multiples of 8")
    }

    // MARK: Training

    /// Runs the network on `images`; with `training`, keeps what `backward` needs and adds both levels' EMA
    /// statistics to `emaStatistics`.
    package func forward(_ images: Tensor, training: Bool) -> VQVAELosses {
        checkImages(images)
        let features = bottomEncoder.forward(images)
        let topInput = topProjection.forward(topEncoder.forward(features))
        let topQuantized = top.forward(topInput)
        let bottomInput = bottomProjection.forward(conditioning.forward(topDecoder.forward(topQuantized), features))
        let bottomQuantized = bottom.forward(bottomInput)
        lastTopInput = topInput
        lastBottomInput = bottomInput
        let output = decoder.forward(codes.forward(topUpsample.forward(topQuantized), bottomQuantized))
        lastOutput = output
        let losses = VQVAELosses(
            reconstruction: meanSquaredError.forward(output, images), commitmentTop: top.commitmentLoss(),
            commitmentBottom: bottom.commitmentLoss(), beta: config.beta)
        if training {
            let statistics = emaStatistics.baseAddress!
            statisticsSum.add(into: statistics, count: emaStatistics.count) {
                top.accumulateStatistics(into: statistics + statisticsOffset(.top))
                bottom.accumulateStatistics(into: statistics + statisticsOffset(.bottom))
            }
        }
        readyForBackward = training
        return losses
    }

    /// The reconstruction of the last forward (owned by the model, valid until the next call).
    package var reconstruction: Tensor {
        guard let lastOutput else { preconditionFailure("reconstruction before forward") }
        return lastOutput
    }

    /// Adds the gradient of `scale` times the last training forward's loss to the store's gradients, by the
    /// straight-through estimator; returns the images' gradient (owned by the model) when `inputGradient` is set.
    ///
    /// The pass sums this micro-batch's gradients from zero and only then adds the earlier micro-batches', so
    /// that the result does not depend on how a batch is split into micro-batches or ranks (for two parts).
    @discardableResult
    package func backward(scale: Float = 1, inputGradient: Bool = false) -> Tensor? {
        precondition(readyForBackward, "backward needs a forward(_:training: true) just before it")
        precondition(store.isMaterialized, "the store must be materialized")
        readyForBackward = false
        return gradientSum.add(into: store.gradients, count: store.count) {
            backwardFromZero(scale: scale, inputGradient: inputGradient)
        }
    }

    /// The backward pass proper, adding into gradients that start at zero.
    private func backwardFromZero(scale: Float, inputGradient: Bool) -> Tensor? {
        let beta = config.beta * scale
        // Each gradient is released once read (`Tensor.release`), so that backward holds few at a time.
        let dReconstruction = meanSquaredError.backward(scale)
        let dDecoded = decoder.backward(dReconstruction)
        let (dTopUpsampled, dBottomQuantized) = codes.backward(dDecoded)
        dDecoded.release()
        let dTopCodes = topUpsample.backward(dTopUpsampled)
        topCodeGradient.copy(from: dTopCodes)
        dTopCodes.release()
        dTopUpsampled.release()
        let dBottomInput = bottom.backward(dBottomQuantized, commitment: beta)
        dBottomQuantized.release()
        let dBottomProjected = bottomProjection.backward(dBottomInput)
        dBottomInput.release()
        let (dTopDecoded, dFeaturesConditioning) = conditioning.backward(dBottomProjected)
        dBottomProjected.release()
        let dTopDecoderInput = topDecoder.backward(dTopDecoded)
        ResidualAdd.accumulate(dTopDecoderInput, into: topCodeGradient)
        dTopDecoderInput.release()
        dTopDecoded.release()
        let dTopInput = top.backward(topCodeGradient, commitment: beta)
        let dTopProjected = topProjection.backward(dTopInput)
        dTopInput.release()
        let dTopEncoded = topEncoder.backward(dTopProjected)!
        dTopProjected.release()
        bottomFeatureGradient.copy(from: dTopEncoded)
        dTopEncoded.release()
        ResidualAdd.accumulate(dFeaturesConditioning, into: bottomFeatureGradient)
        dFeaturesConditioning.release()
        let dEncoded = bottomEncoder.backward(bottomFeatureGradient, inputGradient: inputGradient)

        guard let dEncoded else { return nil }
        // The images are also the reconstruction's target: d/dx mean((y - x)^2) = -dL/dy.
        imageGradient.resize(like: dEncoded)
        let encoded = dEncoded.data, target = dReconstruction.data, dx = imageGradient.data
        for i in 0..<imageGradient.count { dx[i] = encoded[i] - target[i] }
        return imageGradient
    }

    /// Applies the EMA update of both levels from `emaStatistics` (summed over the step's micro-batches and,
    /// distributed, over ranks), clears it, and returns the usage of each level (the batch's, and the live codes
    /// after the update).
    @discardableResult
    package func applyEMAUpdate() -> PerLevel<CodebookUsage> {
        let usage = PerLevel<CodebookUsage>(top: applyEMAUpdate(.top), bottom: applyEMAUpdate(.bottom))
        emaStatistics.update(repeating: 0)
        return usage
    }

    private func applyEMAUpdate(_ level: VQVAELevel) -> CodebookUsage {
        let statistics = UnsafePointer(emaStatistics.baseAddress! + statisticsOffset(level))
        quantizer(level).applyUpdate(from: statistics)
        return quantizer(level).usage(from: statistics)
    }

    /// Whether the configuration calls for dead-code restarts after the latest EMA update.
    package var restartsDue: Bool {
        config.restartDeadCodes && top.updateCount > 0 && top.updateCount % config.restartInterval == 0
    }

    /// On one process: when `restartsDue`, restarts both levels' dead codes from the last forward's quantiser
    /// inputs (with micro-batches, the last one's only: a caller wanting the whole batch's candidates collects
    /// `lastQuantizerInput` after each forward and calls the quantisers' `restartDeadCodes(from:count:)`); returns
    /// how many codes of each level were restarted.
    @discardableResult
    package func restartDeadCodes() -> (top: Int, bottom: Int) {
        guard restartsDue else { return (0, 0) }
        let zTop = lastQuantizerInput(.top), zBottom = lastQuantizerInput(.bottom)
        return (
            top.restartDeadCodes(from: zTop.data, count: zTop.count / config.codeDim),
            bottom.restartDeadCodes(from: zBottom.data, count: zBottom.count / config.codeDim)
        )
    }

    /// The vectors `level` quantised in the last forward or encode ([N, h, w, D]): restart candidates.
    package func lastQuantizerInput(_ level: VQVAELevel) -> Tensor {
        guard let z = level == .top ? lastTopInput : lastBottomInput else {
            preconditionFailure("no \(level) quantiser input before a forward")
        }
        return z
    }

    // MARK: Codes

    /// Runs the encoders up to `level`'s quantiser input for `images` (the bottom level needs the top codebook
    /// initialised): the candidates a caller gathers to initialise that level's codebook.
    package func quantizerInput(for images: Tensor, level: VQVAELevel) -> Tensor {
        checkImages(images)
        readyForBackward = false
        let features = bottomEncoder.forward(images)
        let zTop = topProjection.forward(topEncoder.forward(features))
        lastTopInput = zTop
        if level == .top { return zTop }
        top.lookup(top.search(zTop), shape: Array(zTop.shape.dropLast()), into: topCodeVectors)
        let zBottom = bottomProjection.forward(conditioning.forward(topDecoder.forward(topCodeVectors), features))
        lastBottomInput = zBottom
        return zBottom
    }

    /// On one process: initialises the top codebook from `images`' top quantiser inputs, then the bottom one.
    package func initializeCodebooks(from images: Tensor) {
        for level in VQVAELevel.allCases {
            let z = quantizerInput(for: images, level: level)
            quantizer(level).initialize(from: z.data, count: z.count / config.codeDim)
        }
    }

    /// The codes of `images`: top [N, H/8, W/8] and bottom [N, H/4, W/4], row-major.
    package func encode(_ images: Tensor) -> (top: [Int32], bottom: [Int32]) {
        let zBottom = quantizerInput(for: images, level: .bottom)
        return (top.indices, bottom.search(zBottom))
    }

    /// The images of codes top [N, S/8, S/8] and bottom [N, S/4, S/4] with S = `config.imageSize`, as
    /// [N, S, S, channels] (owned by the model, valid until the next call).
    package func decode(top topCodes: [Int32], bottom bottomCodes: [Int32]) -> Tensor {
        let side = config.imageSize / 8, n = topCodes.count / (side * side)
        precondition(
            topCodes.count == n * side * side && bottomCodes.count == 4 * topCodes.count,
            "\(topCodes.count) top and \(bottomCodes.count) bottom codes for \(config.imageSize)-pixel images")
        readyForBackward = false
        top.lookup(topCodes, shape: [n, side, side], into: topCodeVectors)
        bottom.lookup(bottomCodes, shape: [n, 2 * side, 2 * side], into: bottomCodeVectors)
        let output = decoder.forward(codes.forward(topUpsample.forward(topCodeVectors), bottomCodeVectors))
        lastOutput = output
        return output
    }
}
