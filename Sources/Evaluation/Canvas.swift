import ImageCodecs

/// An RGB drawing surface for the plots and grids: rectangles, lines, tiles and `BitmapFont` text, clipped to
/// the canvas (or to `clip`).
package struct Canvas {
    /// An 8-bit RGB colour.
    package struct Colour: Sendable, Equatable {
        package var r: UInt8, g: UInt8, b: UInt8
        package init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
            self.r = r
            self.g = g
            self.b = b
        }
        package static let white = Colour(255, 255, 255)
        package static let black = Colour(0, 0, 0)
    }

    package let width: Int
    package let height: Int
    package private(set) var pixels: [UInt8]
    /// Drawing outside (x0, y0) ..< (x1, y1) is dropped; the whole canvas unless set.
    package var clip: (x0: Int, y0: Int, x1: Int, y1: Int)

    package init(width: Int, height: Int, background: Colour) {
        precondition(width > 0 && height > 0, "canvas of \(width)x\(height)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        clip = (0, 0, width, height)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    /// The canvas as an image for `ImageCodecs.writePNG`.
    package var image: RGBImage { RGBImage(width: width, height: height, pixels: pixels) }

    package mutating func set(_ x: Int, _ y: Int, _ colour: Colour) {
        guard x >= clip.x0 && x < clip.x1 && y >= clip.y0 && y < clip.y1 else { return }
        let o = (y * width + x) * 3
        pixels[o] = colour.r
        pixels[o + 1] = colour.g
        pixels[o + 2] = colour.b
    }

    package mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ colour: Colour) {
        for yy in y..<(y + max(h, 0)) {
            for xx in x..<(x + max(w, 0)) { set(xx, yy, colour) }
        }
    }

    /// A line from (x0, y0) to (x1, y1) (Bresenham), `thickness` pixels wide.
    package mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ colour: Colour, thickness: Int = 1) {
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var x = x0, y = y0, error = dx + dy
        let before = (thickness - 1) / 2
        while true {
            fill(x: x - before, y: y - before, width: thickness, height: thickness, colour)
            if x == x1 && y == y1 { break }
            let doubled = 2 * error
            if doubled >= dy {
                error += dy
                x += sx
            }
            if doubled <= dx {
                error += dx
                y += sy
            }
        }
    }

    /// `text` with its top-left corner at (x, y), each font pixel `scale` pixels square.
    package mutating func text(_ text: String, x: Int, y: Int, _ colour: Colour, scale: Int = 1) {
        for (i, character) in text.enumerated() {
            let left = x + i * BitmapFont.advance * scale
            for (row, bits) in BitmapFont.rows(character).enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(column)) != 0 {
                    fill(x: left + column * scale, y: y + row * scale, width: scale, height: scale, colour)
                }
            }
        }
    }

    /// `text` drawn bottom to top (rotated a quarter turn anticlockwise), its first character at the bottom
    /// with its left edge at x: for vertical axis labels.
    package mutating func verticalText(_ text: String, x: Int, bottom: Int, _ colour: Colour, scale: Int = 1) {
        for (i, character) in text.enumerated() {
            let base = bottom - i * BitmapFont.advance * scale
            for (row, bits) in BitmapFont.rows(character).enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(column)) != 0 {
                    fill(x: x + row * scale, y: base - (column + 1) * scale, width: scale, height: scale, colour)
                }
            }
        }
    }

    /// Copies `tile` with its top-left corner at (x, y), each pixel repeated into a `scale` x `scale` square.
    package mutating func draw(_ tile: RGBImage, x: Int, y: Int, scale: Int = 1) {
        for ty in 0..<tile.height {
            for tx in 0..<tile.width {
                let o = (ty * tile.width + tx) * 3
                let colour = Colour(tile.pixels[o], tile.pixels[o + 1], tile.pixels[o + 2])
                fill(x: x + tx * scale, y: y + ty * scale, width: scale, height: scale, colour)
            }
        }
    }
}
