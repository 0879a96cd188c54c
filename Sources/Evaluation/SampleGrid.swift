import ImageCodecs
import Model
import Numerics

/// Class-conditional samples: codes drawn from the priors with `PriorSampler`, decoded by the VQ-VAE, and laid
/// out one row per class, `perClass` columns, each row labelled with its class on the left.
///
/// Sample j of class c has the global index c * `classStride` + j, which keys its random streams: it is the same
/// whichever other classes are drawn, however many per class, and in whatever batches (up to the BLAS rounding
/// `PriorSampler` describes). Dropout is off in sampling.
package struct SampleGrid: Sendable {
    package var classes: [Int32]
    package var perClass: Int
    package var temperature: Float
    package var seed: UInt64
    /// At most this many samples go through the priors or the decoder together (memory against speed).
    package var batch: Int

    /// Distance between the global indices of two consecutive classes' first samples.
    package static let classStride = 1 << 32

    package init(classes: [Int32], perClass: Int, temperature: Float = 1, seed: UInt64 = 0, batch: Int = 16) {
        precondition(!classes.isEmpty && perClass > 0 && perClass < SampleGrid.classStride && batch > 0,
                     "\(classes.count) classes of \(perClass) samples in batches of \(batch)")
        self.classes = classes
        self.perClass = perClass
        self.temperature = temperature
        self.seed = seed
        self.batch = batch
    }

    /// Drawn samples in grid order (class after class): codes and their decoded images.
    package struct Samples {
        /// Top codes [N, S/8, S/8] and bottom codes [N, S/4, S/4], row-major.
        package var top: [Int32]
        package var bottom: [Int32]
        package var labels: [Int32]
        /// [N, S, S, 3], in [-1, 1] as far as the decoder keeps to it.
        package var images: Tensor
    }

    /// Draws every sample and decodes it with `vqvae` (whose codebooks the priors were trained on).
    package func draw(vqvae: VQVAE, top: TopPrior, bottom: BottomPrior) -> Samples {
        var topCodes: [Int32] = [], bottomCodes: [Int32] = [], labels: [Int32] = []
        for label in classes {
            precondition(
                label >= 0 && Int(label) < top.config.classes, "class \(label) outside 0..<\(top.config.classes)")
            var start = 0
            while start < perClass {
                let count = min(batch, perClass - start)
                let codes = PriorSampler.sample(
                    top: top, bottom: bottom, labels: [Int32](repeating: label, count: count),
                    temperature: temperature, seed: seed, firstSample: Int(label) * SampleGrid.classStride + start)
                topCodes += codes.top
                bottomCodes += codes.bottom
                labels += [Int32](repeating: label, count: count)
                start += count
            }
        }
        // Decoded `batch` at a time too: the decoder's activations at full resolution are the largest buffers.
        let side = vqvae.config.imageSize, channels = vqvae.config.imageChannels
        let topArea = side * side / 64, bottomArea = side * side / 16, perImage = side * side * channels
        let images = Tensor(shape: [labels.count, side, side, channels])
        var start = 0
        while start < labels.count {
            let end = min(start + batch, labels.count)
            let decoded = vqvae.decode(
                top: Array(topCodes[(start * topArea)..<(end * topArea)]),
                bottom: Array(bottomCodes[(start * bottomArea)..<(end * bottomArea)]))
            (images.data + start * perImage).update(from: decoded.data, count: decoded.count)
            start = end
        }
        return Samples(top: topCodes, bottom: bottomCodes, labels: labels, images: images)
    }

    /// The grid of `images` (in grid order) with `gap` pixels between tiles, each image pixel repeated into a
    /// `scale` x `scale` square; row labels read "c name" with `classNames[c]` where given.
    package func image(of images: Tensor, classNames: [String] = [], gap: Int = 4, scale: Int = 1) -> RGBImage {
        precondition(images.n == classes.count * perClass, "\(images.n) images for \(classes.count) x \(perClass)")
        precondition(gap >= 0 && scale > 0, "gap \(gap), scale \(scale)")
        let h = images.h * scale, w = images.w * scale
        let labels = classes.map { c in Int(c) < classNames.count ? "\(c) \(classNames[Int(c)])" : "\(c)" }
        let labelWidth = (labels.map { BitmapFont.width($0) }.max() ?? 0) + gap
        var canvas = Canvas(
            width: gap + labelWidth + perClass * (w + gap), height: gap + classes.count * (h + gap),
            background: ImageGrid.background)
        for (row, label) in labels.enumerated() {
            let y = gap + row * (h + gap)
            canvas.text(label, x: gap, y: y + (h - BitmapFont.glyphHeight) / 2, .white)
            for j in 0..<perClass {
                canvas.draw(
                    ImageGrid.image(images, index: row * perClass + j), x: gap + labelWidth + j * (w + gap), y: y,
                    scale: scale)
            }
        }
        return canvas.image
    }

    /// Draws, decodes and writes the grid as a PNG at `path`; returns the samples.
    @discardableResult
    package func write(
        vqvae: VQVAE, top: TopPrior, bottom: BottomPrior, classNames: [String] = [], scale: Int = 1, to path: String
    ) throws -> Samples {
        let samples = draw(vqvae: vqvae, top: top, bottom: bottom)
        try ImageCodecs.writePNG(image(of: samples.images, classNames: classNames, scale: scale), to: path)
        return samples
    }
}
