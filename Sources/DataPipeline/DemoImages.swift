import Foundation
import ImageCodecs
import Numerics

/// A small labelled image set drawn procedurally, written in the ILSVRC2012 layout so that `prepare` converts it
/// like any downloaded ImageNet: the quick start's data, needing nothing from the network.
///
/// Ten classes of shapes, stripes, textures and gradients with random colours, positions and sizes; every image is
/// a function of (seed, class, index), so the set is the same on every machine.
package enum DemoImages {
    package static let classNames = [
        "disc", "square", "horizontal stripes", "vertical stripes", "checkerboard", "diagonal gradient",
        "concentric rings", "triangle", "cross", "blobs",
    ]

    /// The wnid-style folder name of demo class `index`.
    package static func wnid(_ index: Int) -> String { String(format: "d%08d", index) }

    /// Writes `train/<wnid>/*.JPEG` (trainPerClass each), `val/<wnid>/*.JPEG` (validationPerClass each) and
    /// LOC_synset_mapping.txt under `root`, for classes 0 ..< classes; returns the number of files written.
    /// `afterEach` runs after every image (it may throw to stop).
    @discardableResult
    package static func write(
        to root: String, classes: Int = 10, trainPerClass: Int = 200, validationPerClass: Int = 20,
        size: Int = 64, seed: UInt64 = 0, afterEach: () throws -> Void = {}
    ) throws -> Int {
        precondition(classes >= 1 && classes <= classNames.count, "the demo has 1 to \(classNames.count) classes")
        let fm = FileManager.default
        var written = 0
        var mapping = ""
        for c in 0..<classes {
            mapping += "\(wnid(c)) \(classNames[c])\n"
            for (split, count, offset) in [("train", trainPerClass, 0), ("val", validationPerClass, 1 << 20)] {
                let folder = "\(root)/\(split)/\(wnid(c))"
                try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for i in 0..<count {
                    let image = draw(classIndex: c, index: i + offset, size: size, seed: seed)
                    let bytes = try ImageCodecs.encodeJPEG(image, quality: 92)
                    let path = "\(folder)/\(wnid(c))_\(i).JPEG"
                    guard fm.createFile(atPath: path, contents: Foundation.Data(bytes)) else {
                        throw SourceError(path: path, "cannot write demo image")
                    }
                    written += 1
                    try afterEach()
                }
            }
        }
        try mapping.write(toFile: root + "/LOC_synset_mapping.txt", atomically: true, encoding: .utf8)
        return written
    }

    /// Draws image `index` of class `classIndex`.
    package static func draw(classIndex: Int, index: Int, size: Int, seed: UInt64) -> RGBImage {
        let random = CounterRandom(seed: seed, purpose: .demoImages, keys: [UInt64(classIndex), UInt64(index)])
        var r = 0
        func next() -> Float {
            r += 1
            return random.uniform(UInt64(r))
        }
        func colour() -> (Float, Float, Float) { (next(), next(), next()) }
        let background = colour()
        let foreground = colour()
        let s = Float(size)
        let cx = (0.3 + 0.4 * next()) * s, cy = (0.3 + 0.4 * next()) * s
        let extent = (0.15 + 0.2 * next()) * s
        let frequency = 2 + 6 * next()
        let phase = next() * 6.283
        var blobs: [(Float, Float, Float)] = []
        for _ in 0..<5 { blobs.append((next() * s, next() * s, (0.08 + 0.12 * next()) * s)) }

        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                let fx = Float(x) + 0.5, fy = Float(y) + 0.5
                let dx = fx - cx, dy = fy - cy
                var t: Float  // 0 = background colour, 1 = foreground colour
                switch classIndex {
                case 0: t = dx * dx + dy * dy < extent * extent ? 1 : 0
                case 1: t = abs(dx) < extent && abs(dy) < extent ? 1 : 0
                case 2: t = sin(fy / s * frequency * 6.283 + phase) > 0 ? 1 : 0
                case 3: t = sin(fx / s * frequency * 6.283 + phase) > 0 ? 1 : 0
                case 4:
                    let cell = s / (2 + (frequency / 2).rounded())
                    t = (Int(fx / cell) + Int(fy / cell)) % 2 == 0 ? 1 : 0
                case 5: t = min(1, max(0, (fx * cos(phase) + fy * sin(phase)) / (1.5 * s) + 0.5))
                case 6: t = sin((dx * dx + dy * dy).squareRoot() / s * frequency * 9 + phase) > 0 ? 1 : 0
                case 7: t = dy > -extent && dy < extent && abs(dx) < (dy + extent) / 2 ? 1 : 0
                case 8: t = (abs(dx) < extent / 3 && abs(dy) < extent) || (abs(dy) < extent / 3 && abs(dx) < extent) ? 1 : 0
                default:
                    t = 0
                    for (bx, by, radius) in blobs {
                        let d2 = (fx - bx) * (fx - bx) + (fy - by) * (fy - by)
                        t += exp(-d2 / (radius * radius))
                    }
                    t = min(1, t)
                }
                let o = (y * size + x) * 3
                pixels[o] = UInt8(255 * (background.0 + t * (foreground.0 - background.0)))
                pixels[o + 1] = UInt8(255 * (background.1 + t * (foreground.1 - background.1)))
                pixels[o + 2] = UInt8(255 * (background.2 + t * (foreground.2 - background.2)))
            }
        }
        return RGBImage(width: size, height: size, pixels: pixels)
    }
}
