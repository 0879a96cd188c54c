/// Nearest-neighbour up-sampling by 2 of an NHWC feature map: [N, H, W, C] -> [N, 2H, 2W, C].
package final class NearestUpsample2x {
    package let output = Tensor(shape: [0])
    package let inputGradient = Tensor(shape: [0])

    package init() {}

    package func forward(_ x: Tensor) -> Tensor {
        precondition(x.shape.count == 4, "up-sampling needs NHWC, got \(x.shape)")
        let n = x.n, h = x.h, w = x.w, c = x.c
        output.resize([n, 2 * h, 2 * w, c])
        let src = x.data, dst = output.data
        for b in 0..<n {
            for i in 0..<h {
                for j in 0..<w {
                    let s = src + ((b * h + i) * w + j) * c
                    let top = dst + ((b * 2 * h + 2 * i) * 2 * w + 2 * j) * c
                    let bottom = top + 2 * w * c
                    top.update(from: s, count: c)
                    (top + c).update(from: s, count: c)
                    bottom.update(from: s, count: c)
                    (bottom + c).update(from: s, count: c)
                }
            }
        }
        return output
    }

    /// Each input position receives the sum of the gradients of its four copies.
    package func backward(_ dOutput: Tensor) -> Tensor {
        precondition(dOutput.shape == output.shape, "gradient \(dOutput.shape) for output \(output.shape)")
        let n = output.n, h = output.h / 2, w = output.w / 2, c = output.c
        inputGradient.resize([n, h, w, c])
        let dy = dOutput.data, dx = inputGradient.data
        for b in 0..<n {
            for i in 0..<h {
                for j in 0..<w {
                    let d = dx + ((b * h + i) * w + j) * c
                    let top = dy + ((b * 2 * h + 2 * i) * 2 * w + 2 * j) * c
                    let bottom = top + 2 * w * c
                    for k in 0..<c { d[k] = (top[k] + top[c + k]) + (bottom[k] + bottom[c + k]) }
                }
            }
        }
        return inputGradient
    }
}
