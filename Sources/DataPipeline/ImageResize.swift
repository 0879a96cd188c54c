import ImageCodecs

/// Resizes so that the shorter side is `size`, with anti-aliasing, and crops the centre `size` x `size`.
///
/// The filter is a triangle whose support grows with the reduction factor (Pillow's antialiased bilinear), so a
/// 500x375 photo shrunk to 64 averages every source pixel instead of sampling a few. Only the output pixels
/// inside the crop are computed. Returns size * size * 3 bytes, RGB interleaved.
package func resizeAndCenterCrop(_ image: RGBImage, to size: Int) -> [UInt8] {
    let shorter = min(image.width, image.height)
    let scaledWidth = image.width == shorter ? size : Int((Double(image.width) * Double(size) / Double(shorter)).rounded())
    let scaledHeight = image.height == shorter ? size : Int((Double(image.height) * Double(size) / Double(shorter)).rounded())
    let left = (scaledWidth - size) / 2
    let top = (scaledHeight - size) / 2
    let columns = ResampleWeights(input: image.width, output: scaledWidth, first: left, count: size)
    let rows = ResampleWeights(input: image.height, output: scaledHeight, first: top, count: size)

    // Horizontal pass over every source row, then vertical pass over the kept rows.
    var horizontal = [Float](repeating: 0, count: image.height * size * 3)
    image.pixels.withUnsafeBufferPointer { source in
        horizontal.withUnsafeMutableBufferPointer { out in
            for y in 0..<image.height {
                let sourceRow = source.baseAddress! + y * image.width * 3
                let outRow = out.baseAddress! + y * size * 3
                for x in 0..<size {
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    let start = columns.starts[x]
                    for (k, weight) in columns.weights[x].enumerated() {
                        let p = sourceRow + (start + k) * 3
                        r += weight * Float(p[0])
                        g += weight * Float(p[1])
                        b += weight * Float(p[2])
                    }
                    outRow[x * 3] = r
                    outRow[x * 3 + 1] = g
                    outRow[x * 3 + 2] = b
                }
            }
        }
    }
    var result = [UInt8](repeating: 0, count: size * size * 3)
    horizontal.withUnsafeBufferPointer { source in
        for y in 0..<size {
            let start = rows.starts[y]
            for i in 0..<(size * 3) {
                var sum: Float = 0
                for (k, weight) in rows.weights[y].enumerated() { sum += weight * source[(start + k) * size * 3 + i] }
                result[y * size * 3 + i] = UInt8(max(0, min(255, sum.rounded())))
            }
        }
    }
    return result
}

/// For each kept output coordinate along one axis: the first source index and the normalised filter weights.
struct ResampleWeights {
    var starts: [Int] = []
    var weights: [[Float]] = []

    init(input: Int, output: Int, first: Int, count: Int) {
        let scale = Double(input) / Double(output)
        let stretch = max(scale, 1)
        let support = stretch
        for o in first..<(first + count) {
            let centre = (Double(o) + 0.5) * scale
            let lo = max(0, Int((centre - support).rounded(.down)))
            let hi = min(input, Int((centre + support).rounded(.up)))
            var w = (lo..<hi).map { i -> Double in max(0, 1 - abs((Double(i) + 0.5 - centre) / stretch)) }
            let total = w.reduce(0, +)
            if total > 0 {
                w = w.map { $0 / total }
            } else {
                w = [Double](repeating: 1 / Double(hi - lo), count: hi - lo)
            }
            starts.append(lo)
            weights.append(w.map(Float.init))
        }
    }
}
