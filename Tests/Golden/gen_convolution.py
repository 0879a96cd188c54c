"""Golden fixtures for Conv2D and ConvTranspose2D: input, parameters, output and gradients from PyTorch.

    /usr/bin/python3 Tests/Golden/gen_convolution.py

Each fixture holds x, weight, bias, y, dy (the upstream gradient), dx, dweight, dbias in our layouts (NHWC,
Conv2D weight [out, kh, kw, in], ConvTranspose2D weight [in, kh, kw, out]) and a "config" tensor:
conv: [kh, kw, stride_y, stride_x, top, bottom, left, right]; transposed: [kh, kw, stride_y, stride_x, pad_y, pad_x].
Asymmetric (and negative, that is cropping) padding is applied with F.pad before an unpadded convolution.
"""
import torch
import torch.nn.functional as F

from golden import conv_weight, nhwc, write


def conv_case(name, n, cin, h, w, cout, kh, kw, stride=(1, 1), pad=(0, 0, 0, 0), seed=0):
    top, bottom, left, right = pad
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, cin, h, w, generator=g).requires_grad_()
    weight = (torch.randn(cout, cin, kh, kw, generator=g) * 0.5).requires_grad_()
    bias = torch.randn(cout, generator=g).requires_grad_()
    y = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, stride=stride)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    config = torch.tensor([kh, kw, stride[0], stride[1], top, bottom, left, right], dtype=torch.float32)
    write(name, {
        "config": config, "x": nhwc(x), "weight": conv_weight(weight), "bias": bias, "y": nhwc(y),
        "dy": nhwc(dy), "dx": nhwc(x.grad), "dweight": conv_weight(weight.grad), "dbias": bias.grad,
    })


def transposed_case(name, n, cin, h, w, cout, k, stride, pad, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, cin, h, w, generator=g).requires_grad_()
    weight = (torch.randn(cin, cout, k, k, generator=g) * 0.5).requires_grad_()
    bias = torch.randn(cout, generator=g).requires_grad_()
    y = F.conv_transpose2d(x, weight, bias, stride=stride, padding=pad)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    config = torch.tensor([k, k, stride, stride, pad, pad], dtype=torch.float32)
    # [in, out, kh, kw] -> [in, kh, kw, out] is the same permutation as conv_weight's.
    write(name, {
        "config": config, "x": nhwc(x), "weight": conv_weight(weight), "bias": bias, "y": nhwc(y),
        "dy": nhwc(dy), "dx": nhwc(x.grad), "dweight": conv_weight(weight.grad), "dbias": bias.grad,
    })


def main():
    torch.set_default_dtype(torch.float32)
    conv_case("conv3x3_s1_p1", 2, 3, 5, 6, 4, 3, 3, pad=(1, 1, 1, 1), seed=1)
    conv_case("conv4x4_s2_p1", 2, 3, 8, 6, 5, 4, 4, stride=(2, 2), pad=(1, 1, 1, 1), seed=2)
    conv_case("conv1x1", 2, 6, 4, 3, 5, 1, 1, seed=3)
    conv_case("conv5x5_s1_p2", 1, 2, 7, 6, 3, 5, 5, pad=(2, 2, 2, 2), seed=4)
    conv_case("conv1x3_p01", 2, 3, 4, 5, 4, 1, 3, pad=(0, 0, 1, 1), seed=5)
    conv_case("conv3x1_p10", 2, 3, 5, 4, 4, 3, 1, pad=(1, 1, 0, 0), seed=6)
    conv_case("conv2x3_asymmetric", 2, 3, 5, 5, 4, 2, 3, pad=(1, 0, 1, 1), seed=7)
    conv_case("conv3x3_s2_asymmetric", 1, 2, 7, 6, 3, 3, 3, stride=(2, 2), pad=(0, 1, 1, 0), seed=8)
    conv_case("conv1x3_crop", 1, 2, 5, 4, 3, 1, 3, pad=(1, -1, 1, 1), seed=9)
    transposed_case("convT4x4_s2_p1", 2, 4, 3, 4, 3, 4, 2, 1, seed=10)
    transposed_case("convT3x3_s2_p1", 2, 3, 4, 3, 2, 3, 2, 1, seed=11)
    transposed_case("convT3x3_s1_p0", 1, 3, 3, 4, 2, 3, 1, 0, seed=12)


if __name__ == "__main__":
    main()
