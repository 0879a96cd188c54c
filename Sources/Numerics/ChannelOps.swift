/// Concatenation of two NHWC tensors along the channel (last) axis: [..., Ca] ++ [..., Cb] -> [..., Ca + Cb].
package final class ChannelConcat {
    package let output = Tensor(shape: [0])
    package let firstGradient = Tensor(shape: [0])
    package let secondGradient = Tensor(shape: [0])
    private var firstWidth = 0

    package init() {}

    package func forward(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(
            a.shape.dropLast() == b.shape.dropLast(), "concat of \(a.shape) and \(b.shape): leading extents differ")
        let ca = a.c, cb = b.c, width = ca + cb, rows = a.rowCount
        firstWidth = ca
        var shape = a.shape
        shape[shape.count - 1] = width
        output.resize(shape)
        ChannelConcat.interleave(a.data, ca, b.data, cb, into: output.data, rows: rows)
        return output
    }

    /// The gradients of (a, b).
    package func backward(_ dOutput: Tensor) -> (Tensor, Tensor) {
        precondition(dOutput.shape == output.shape, "gradient \(dOutput.shape) for output \(output.shape)")
        let ca = firstWidth, cb = output.c - ca
        var shape = output.shape
        shape[shape.count - 1] = ca
        firstGradient.resize(shape)
        shape[shape.count - 1] = cb
        secondGradient.resize(shape)
        ChannelConcat.deinterleave(
            dOutput.data, into: firstGradient.data, ca, secondGradient.data, cb, rows: dOutput.rowCount)
        return (firstGradient, secondGradient)
    }

    static func interleave(
        _ a: UnsafePointer<Float>, _ ca: Int, _ b: UnsafePointer<Float>, _ cb: Int,
        into out: UnsafeMutablePointer<Float>, rows: Int
    ) {
        let width = ca + cb
        ThreadPool.shared.forEachRange(count: rows, grain: max(1, 16_384 / max(width, 1))) { range, _ in
            for r in range {
                (out + r * width).update(from: a + r * ca, count: ca)
                (out + r * width + ca).update(from: b + r * cb, count: cb)
            }
        }
    }

    static func deinterleave(
        _ x: UnsafePointer<Float>, into a: UnsafeMutablePointer<Float>, _ ca: Int,
        _ b: UnsafeMutablePointer<Float>, _ cb: Int, rows: Int
    ) {
        let width = ca + cb
        ThreadPool.shared.forEachRange(count: rows, grain: max(1, 16_384 / max(width, 1))) { range, _ in
            for r in range {
                (a + r * ca).update(from: x + r * width, count: ca)
                (b + r * cb).update(from: x + r * width + ca, count: cb)
            }
        }
    }
}

/// Split of an NHWC tensor along the channel axis into its first `firstWidth` channels and the rest.
package final class ChannelSplit {
    package let first = Tensor(shape: [0])
    package let second = Tensor(shape: [0])
    package let inputGradient = Tensor(shape: [0])

    package init() {}

    package func forward(_ x: Tensor, firstWidth: Int) -> (Tensor, Tensor) {
        let width = x.c
        precondition(firstWidth >= 0 && firstWidth <= width, "split \(x.shape) at channel \(firstWidth)")
        var shape = x.shape
        shape[shape.count - 1] = firstWidth
        first.resize(shape)
        shape[shape.count - 1] = width - firstWidth
        second.resize(shape)
        ChannelConcat.deinterleave(
            x.data, into: first.data, firstWidth, second.data, width - firstWidth, rows: x.rowCount)
        return (first, second)
    }

    /// The input gradient from the gradients of both parts.
    package func backward(_ dFirst: Tensor, _ dSecond: Tensor) -> Tensor {
        precondition(dFirst.shape == first.shape && dSecond.shape == second.shape, "split gradients of wrong shape")
        let ca = first.c, cb = second.c
        var shape = first.shape
        shape[shape.count - 1] = ca + cb
        inputGradient.resize(shape)
        ChannelConcat.interleave(dFirst.data, ca, dSecond.data, cb, into: inputGradient.data, rows: first.rowCount)
        return inputGradient
    }
}

extension Tensor {
    /// The number of channel vectors: the product of every extent but the last.
    var rowCount: Int { shape.dropLast().reduce(1, *) }
}
