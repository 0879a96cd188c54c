/// A causal convolution for the vertical or horizontal stack of a gated PixelCNN without blind spot
/// (van den Oord et al. 2016, arXiv 1606.05328), built as a shifted convolution with asymmetric padding.
///
/// For an odd kernel size k (stride 1, output the size of the input):
/// - vertical, mask B: kernel (k/2+1) x k over rows r-k/2 ... r, columns c-k/2 ... c+k/2 (pad top k/2, bottom 0);
/// - vertical, mask A: kernel (k/2) x k over rows r-k/2 ... r-1 (pad top k/2, bottom -1: the last row is
///   cropped), so the first layer's vertical features at row r depend on rows above r only;
/// - horizontal, mask B: kernel 1 x (k/2+1) over columns c-k/2 ... c (pad left k/2, right 0);
/// - horizontal, mask A: kernel 1 x (k/2) over columns c-k/2 ... c-1 (pad left k/2, right -1).
/// Vertical features at row r thus always depend on input rows above r only (mask A first, then mask B on
/// features that are already strictly above), so a horizontal stack may add them at the same position with no
/// further shift. Shifting is chosen over masking a full k x k kernel because it stores and multiplies only the
/// taps that can be nonzero: about half the FLOPs and parameters of a masked kernel, and no mask to re-apply
/// after each optimiser step. The weight is a Conv2D weight [outC, kh, kw, inC] of the shifted kernel shape.
package final class CausalConv2D {
    /// Which PixelCNN stack the convolution belongs to.
    package enum Stack: Sendable { case vertical, horizontal }

    /// Mask A (first layer) excludes the current row (vertical) or position (horizontal); mask B includes it.
    package enum Mask: Sendable { case a, b }

    package let stack: Stack
    package let mask: Mask
    package let kernel: Int
    /// The shifted convolution that does the work (its parameters are `name.weight` and `name.bias`).
    package let convolution: Conv2D

    package init(
        _ store: ParameterStore, name: String, stack: Stack, mask: Mask, kernel: Int,
        inChannels: Int, outChannels: Int, bias: Bool = true
    ) {
        precondition(kernel % 2 == 1, "causal kernel size \(kernel) must be odd")
        precondition(mask == .b || kernel >= 3, "mask A needs a kernel of at least 3")
        self.stack = stack
        self.mask = mask
        self.kernel = kernel
        let half = kernel / 2
        let reach = mask == .a ? half : half + 1
        let crop = mask == .a ? -1 : 0
        switch stack {
        case .vertical:
            convolution = Conv2D(
                store, name: name, inChannels: inChannels, outChannels: outChannels, kernelHeight: reach,
                kernelWidth: kernel, padding: Padding(top: half, bottom: crop, left: half, right: half), bias: bias)
        case .horizontal:
            convolution = Conv2D(
                store, name: name, inChannels: inChannels, outChannels: outChannels, kernelHeight: 1,
                kernelWidth: reach, padding: Padding(top: 0, bottom: 0, left: half, right: crop), bias: bias)
        }
    }

    /// The causal convolution of x (same height and width as x); owned by the layer until the next forward.
    package func forward(_ x: Tensor) -> Tensor { convolution.forward(x) }

    /// Accumulates the parameter gradients and returns the layer-owned input gradient.
    package func backward(_ dOutput: Tensor) -> Tensor { convolution.backward(dOutput) }
}
