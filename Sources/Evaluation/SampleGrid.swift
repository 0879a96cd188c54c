import ImageCodecs
import Model
import Numerics

/// Class-conditional samples: codes drawn from the priors with `PriorSampler`, decoded by the VQ-VAE, and laid
/// out one row per class, `perClass` columns, each row labelled with its class on the left.
///
/// Sample j of class c has the global index c * `classStride` + j, which keys its random streams. The grid's
/// samples go through the priors in `chunks` of exactly `batch` samples, in grid order (the last chunk padded),
/// so every matrix product has the same shape however the chunks are shared out: ranks that share them draw
/// bit for bit what one process drawing them all does. Dropout is off in sampling.
package struct SampleGrid: Sendable {
    package var classes: [Int32]
    package var perClass: Int
    package var temperature: Float
    package var seed: UInt64
    /// Samples that go through the priors or the decoder together (memory against speed).
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

        package init(top: [Int32], bottom: [Int32], labels: [Int32], images: Tensor) {
            self.top = top
            self.bottom = bottom
            self.labels = labels
            self.images = images
        }
    }

    /// The grid's labels in grid order.
    package var labels: [Int32] { classes.flatMap { [Int32](repeating: $0, count: perClass) } }

    /// `batch` samples that go through the priors together: their labels and global indices. The last chunk of
    /// a grid repeats its last sample up to `batch`; those copies' codes are dropped.
    package struct Chunk: Sendable, Equatable {
        package var labels: [Int32]
        package var indices: [Int]
        /// How many of the chunk's samples belong to the grid (the rest are padding).
        package var count: Int
    }

    /// Samples in the grid.
    package var count: Int { classes.count * perClass }

    /// The grid's samples in grid order, `batch` to a chunk.
    package var chunks: [Chunk] {
        let all = classes.flatMap { label in (0..<perClass).map { (label, Int(label) * SampleGrid.classStride + $0) } }
        return stride(from: 0, to: all.count, by: batch).map { start in
            let part = all[start..<min(start + batch, all.count)]
            let padded = Array(part) + Array(repeating: part.last!, count: batch - part.count)
            return Chunk(labels: padded.map(\.0), indices: padded.map(\.1), count: part.count)
        }
    }

    /// Draws one chunk's codes (its grid samples' only); `step` as `PriorSampler.sample` calls it.
    package func sample(
        _ chunk: Chunk, top: TopPrior, bottom: BottomPrior, step: PriorSampler.PositionStep = { _, _ in }
    ) throws -> (top: [Int32], bottom: [Int32]) {
        for label in chunk.labels {
            precondition(
                label >= 0 && Int(label) < top.config.classes, "class \(label) outside 0..<\(top.config.classes)")
        }
        let codes = try PriorSampler.sample(
            top: top, bottom: bottom, labels: chunk.labels, temperature: temperature, seed: seed,
            samples: chunk.indices, step: step)
        let topArea = top.height * top.width, bottomArea = bottom.height * bottom.width
        return (Array(codes.top.prefix(chunk.count * topArea)), Array(codes.bottom.prefix(chunk.count * bottomArea)))
    }

    /// Draws every chunk in order, on one process, and decodes the samples with `vqvae` (whose codebooks the
    /// priors were trained on).
    package func draw(
        vqvae: VQVAE, top: TopPrior, bottom: BottomPrior, step: PriorSampler.PositionStep = { _, _ in }
    ) throws -> Samples {
        var topCodes: [Int32] = [], bottomCodes: [Int32] = []
        let chunks = self.chunks
        let positions = top.height * top.width + bottom.height * bottom.width
        for (i, chunk) in chunks.enumerated() {
            let codes = try sample(chunk, top: top, bottom: bottom) { done, _ in
                try step(i * positions + done, chunks.count * positions)
            }
            topCodes += codes.top
            bottomCodes += codes.bottom
        }
        return decode(top: topCodes, bottom: bottomCodes, vqvae: vqvae)
    }

    /// The samples of the grid's codes (grid order), decoded `batch` at a time: the decoder's activations at
    /// full resolution are the largest buffers.
    package func decode(top topCodes: [Int32], bottom bottomCodes: [Int32], vqvae: VQVAE) -> Samples {
        let labels = self.labels
        let side = vqvae.config.imageSize, channels = vqvae.config.imageChannels
        let topArea = side * side / 64, bottomArea = side * side / 16, perImage = side * side * channels
        precondition(topCodes.count == labels.count * topArea && bottomCodes.count == labels.count * bottomArea,
                     "\(topCodes.count) top and \(bottomCodes.count) bottom codes for \(labels.count) samples")
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

    /// Writes `samples` (this grid's) as a PNG at `path`.
    package func write(_ samples: Samples, classNames: [String] = [], scale: Int = 1, to path: String) throws {
        try ImageCodecs.writePNG(image(of: samples.images, classNames: classNames, scale: scale), to: path)
    }
}
