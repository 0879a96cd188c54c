import Numerics
@testable import Model

/// Values uniform in [-scale, scale] from a fixed stream.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    let random = CounterRandom(seed: seed, keys: [0x7E57])
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, values: (0..<count).map { (2 * random.uniform(UInt64($0)) - 1) * scale })
}

/// A configuration small enough for finite differences in a debug build (8x8 images unless told).
func tinyConfig(imageSize: Int = 8) -> VQVAEConfig {
    var config = VQVAEConfig()
    config.imageSize = imageSize
    config.channels = 4
    config.residualChannels = 2
    config.residualBlocks = 1
    config.codebookSize = 8
    config.codeDim = 3
    return config
}

/// A materialised model with its store.
func makeModel(_ config: VQVAEConfig, seed: UInt64 = 1) throws -> VQVAE {
    let model = try VQVAE(ParameterStore(), config: config, seed: seed)
    model.store.materialize(seed: seed)
    return model
}

/// Images [n, size, size, 3] in [-1, 1] of simple shapes: a coloured rectangle and a disc on a gradient, with
/// sizes, places and colours drawn from a fixed stream per image.
func shapeImages(count n: Int, size: Int, seed: UInt64 = 5) -> Tensor {
    let images = Tensor(shape: [n, size, size, 3])
    let s = Float(size)
    for i in 0..<n {
        let random = CounterRandom(seed: seed, keys: [UInt64(i)])
        func u(_ k: UInt64) -> Float { random.uniform(k) }
        let background = (0..<3).map { 2 * u(UInt64($0)) - 1 }
        let rectangleColour = (0..<3).map { 2 * u(UInt64(3 + $0)) - 1 }
        let discColour = (0..<3).map { 2 * u(UInt64(6 + $0)) - 1 }
        let x0 = u(9) * s * 0.5, y0 = u(10) * s * 0.5, w = s * (0.25 + 0.25 * u(11)), h = s * (0.25 + 0.25 * u(12))
        let cx = s * (0.25 + 0.5 * u(13)), cy = s * (0.25 + 0.5 * u(14)), r = s * (0.1 + 0.15 * u(15))
        for y in 0..<size {
            for x in 0..<size {
                let fx = Float(x), fy = Float(y)
                var colour = background.map { $0 * (0.5 + 0.5 * fx / s) }
                if fx >= x0 && fx < x0 + w && fy >= y0 && fy < y0 + h { colour = rectangleColour }
                if (fx - cx) * (fx - cx) + (fy - cy) * (fy - cy) < r * r { colour = discColour }
                for c in 0..<3 { images.data[((i * size + y) * size + x) * 3 + c] = colour[c] }
            }
        }
    }
    return images
}

/// Images start ..< start + count of `images` as a new tensor.
func slice(_ images: Tensor, from start: Int, count: Int) -> Tensor {
    let per = images.count / images.n
    var shape = images.shape
    shape[0] = count
    return Tensor(shape: shape, values: Array(images.array[(start * per)..<((start + count) * per)]))
}
