import ImageCodecs
import Model
import Numerics

/// Grids of held-out originals beside their reconstructions, for people watching a run improve.
package enum ImageGrid {
    /// The colour between tiles: a mid grey that neither black nor white images merge into.
    package static let background = Canvas.Colour(96, 96, 96)

    /// Image `index` of `images` ([N, H, W, 3] in [-1, 1]) as 8-bit RGB: round((x + 1) * 127.5), clamped, the
    /// inverse of the loader's p * 2/255 - 1.
    package static func image(_ images: Tensor, index: Int) -> RGBImage {
        precondition(images.shape.count == 4 && images.c == 3, "images \(images.shape): expected [N, H, W, 3]")
        precondition(index >= 0 && index < images.n, "image \(index) of \(images.n)")
        let perImage = images.h * images.w * 3, x = images.data + index * perImage
        var pixels = [UInt8](repeating: 0, count: perImage)
        for i in 0..<perImage { pixels[i] = UInt8(min(max(((x[i] + 1) * 127.5).rounded(), 0), 255)) }
        return RGBImage(width: images.w, height: images.h, pixels: pixels)
    }

    /// Pairs (original | reconstruction), `pairsPerRow` to a row: each pair's two images touch but for a 1-pixel
    /// line, and `gap` pixels separate pairs, rows and the border. With images of S = `scale` * H pixels on a
    /// side (each pixel repeated, so that small images can be seen), pair p sits at column p % pairsPerRow, row
    /// p / pairsPerRow, its original's corner at (gap + column * (2S + 1 + gap), gap + row * (S + gap)).
    package static func reconstructions(
        originals: Tensor, reconstructions: Tensor, pairsPerRow: Int = 8, gap: Int = 4, scale: Int = 1
    ) -> RGBImage {
        precondition(
            originals.shape == reconstructions.shape,
            "originals \(originals.shape) and reconstructions \(reconstructions.shape) differ")
        precondition(
            pairsPerRow > 0 && gap >= 0 && scale > 0 && originals.n > 0,
            "grid of \(originals.n) pairs, \(pairsPerRow) a row, scale \(scale)")
        let n = originals.n, h = originals.h * scale, w = originals.w * scale
        let columns = min(pairsPerRow, n), rows = (n + columns - 1) / columns
        var canvas = Canvas(
            width: gap + columns * (2 * w + 1 + gap), height: gap + rows * (h + gap), background: background)
        for p in 0..<n {
            let x = gap + (p % columns) * (2 * w + 1 + gap), y = gap + (p / columns) * (h + gap)
            canvas.draw(image(originals, index: p), x: x, y: y, scale: scale)
            canvas.draw(image(reconstructions, index: p), x: x + w + 1, y: y, scale: scale)
        }
        return canvas.image
    }

    /// Reconstructs `images` with `vqvae` (no training state moves) and writes the pair grid as a PNG at `path`.
    /// It runs a forward on the model's buffers: not between a training forward and its backward.
    package static func writeReconstructions(
        of images: Tensor, vqvae: VQVAE, pairsPerRow: Int = 8, gap: Int = 4, scale: Int = 1, to path: String
    ) throws {
        _ = vqvae.forward(images, training: false)
        let grid = reconstructions(
            originals: images, reconstructions: vqvae.reconstruction, pairsPerRow: pairsPerRow, gap: gap,
            scale: scale)
        try ImageCodecs.writePNG(grid, to: path)
    }
}
