"""Writes golden fixtures for the non-convolution operations of Numerics from PyTorch.

    /usr/bin/python3 Tests/Golden/gen_ops.py

Every fixture holds the inputs, parameters, outputs and, for a given upstream gradient `dy`, the gradients of
inputs and parameters, all in our layout (NHWC activations; Linear weights [out, in] as nn.Linear). Integer
inputs (labels, codes, targets) are stored as floats.
"""
import torch
import torch.nn.functional as F

from golden import nhwc, write

torch.manual_seed(20240611)


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_()


def activations():
    x = leaf(2, 3, 5, 4, scale=2.0)
    dy = torch.randn_like(x)
    out = {"x": x, "dy": dy}
    for name, fn in [("relu", F.relu), ("elu", lambda t: F.elu(t, alpha=1.0)),
                     ("tanh", torch.tanh), ("sigmoid", torch.sigmoid)]:
        x.grad = None
        y = fn(x)
        y.backward(dy)
        out[name + ".y"] = y
        out[name + ".dx"] = x.grad.clone()
    write("activations", out)


def gate():
    x = leaf(2, 3, 3, 6, scale=2.0)
    a, b = x[..., :3], x[..., 3:]
    y = torch.tanh(a) * torch.sigmoid(b)
    dy = torch.randn_like(y)
    y.backward(dy)
    write("gate", {"x": x, "y": y, "dy": dy, "dx": x.grad})


def upsample():
    x = leaf(2, 3, 5, 3)
    y = F.interpolate(x.permute(0, 3, 1, 2), scale_factor=2, mode="nearest")
    dy = torch.randn_like(y)
    y.backward(dy)
    write("upsample", {"x": x, "y": nhwc(y), "dy": nhwc(dy), "dx": x.grad})


def linear():
    layer = torch.nn.Linear(7, 6)
    x = leaf(2, 3, 5, 7)
    y = layer(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    write("linear", {"x": x, "weight": layer.weight, "bias": layer.bias, "y": y, "dy": dy, "dx": x.grad,
                     "dweight": layer.weight.grad, "dbias": layer.bias.grad})


def embeddings():
    table = leaf(4, 5)
    labels = torch.tensor([2, 0, 2])
    x = leaf(3, 2, 3, 5)
    y = x + table[labels][:, None, None, :]
    dy = torch.randn_like(y)
    y.backward(dy)
    write("class_embedding", {"x": x, "table": table, "labels": labels, "y": y, "dy": dy, "dx": x.grad,
                              "dtable": table.grad})

    codes_table = leaf(6, 4)
    codes = torch.randint(0, 6, (2, 3, 3))
    y = F.embedding(codes, codes_table)
    dy = torch.randn_like(y)
    y.backward(dy)
    write("code_embedding", {"table": codes_table, "codes": codes, "y": y, "dy": dy, "dtable": codes_table.grad})


def attention():
    # nn.MultiheadAttention's in_proj_weight [3C, C] (rows W_q; W_k; W_v) and out_proj are exactly our
    # ".qkv" and ".out" Linear weights; the boolean mask blocks j > i (raster order over H*W positions).
    n, h, w, c, heads = 2, 3, 3, 8, 2
    mha = torch.nn.MultiheadAttention(c, heads, batch_first=True)
    with torch.no_grad():
        mha.in_proj_bias.copy_(torch.randn(3 * c) * 0.1)
        mha.out_proj.bias.copy_(torch.randn(c) * 0.1)
    x = leaf(n, h, w, c)
    seq = x.reshape(n, h * w, c)
    t = h * w
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    y, _ = mha(seq, seq, seq, attn_mask=mask, need_weights=False)
    y = y.reshape(n, h, w, c)
    dy = torch.randn_like(y)
    y.backward(dy)
    write("attention", {
        "x": x, "y": y, "dy": dy, "dx": x.grad,
        "qkv.weight": mha.in_proj_weight, "qkv.bias": mha.in_proj_bias,
        "out.weight": mha.out_proj.weight, "out.bias": mha.out_proj.bias,
        "dqkv.weight": mha.in_proj_weight.grad, "dqkv.bias": mha.in_proj_bias.grad,
        "dout.weight": mha.out_proj.weight.grad, "dout.bias": mha.out_proj.bias.grad})


def losses():
    p = leaf(2, 3, 5, 3)
    t = torch.randn(2, 3, 5, 3)
    loss = F.mse_loss(p, t)
    loss.backward()
    write("mse", {"prediction": p, "target": t, "loss": loss.reshape(1), "dprediction": p.grad})

    logits = leaf(2, 3, 5, 7, scale=3.0)
    targets = torch.randint(0, 7, (2, 3, 5))
    flat = logits.reshape(-1, 7)
    nll_sum = F.cross_entropy(flat, targets.reshape(-1), reduction="sum")
    mean = F.cross_entropy(flat, targets.reshape(-1))
    mean.backward()
    write("cross_entropy", {"logits": logits, "targets": targets, "nll_sum": nll_sum.reshape(1),
                            "count": torch.tensor([float(targets.numel())]), "dlogits": logits.grad})


def vector_quantization():
    beta = 0.25
    z = leaf(2, 3, 5, 4)
    codebook = torch.randn(9, 4)
    flat = z.detach().reshape(-1, 4)
    distances = (flat ** 2).sum(1, keepdim=True) - 2 * flat @ codebook.t() + (codebook ** 2).sum(1)[None, :]
    indices = distances.argmin(1)
    e = codebook[indices].reshape(z.shape)
    quantized = z + (e - z).detach()
    dy = torch.randn_like(z)
    commitment = F.mse_loss(z, e.detach())
    ((quantized * dy).sum() + beta * commitment).backward()
    write("vector_quantization", {
        "z": z, "codebook": codebook, "indices": indices.reshape(2, 3, 5), "quantized": e,
        "commitment": commitment.reshape(1), "beta": torch.tensor([beta]), "dy": dy, "dz": z.grad})


def optimizers():
    count, steps = 7, 4
    start = torch.randn(count)
    grads = torch.randn(steps, count)
    out = {"start": start, "gradients": grads}
    for name, make in [("adam", lambda p: torch.optim.Adam([p], lr=1e-2)),
                       ("adamw", lambda p: torch.optim.AdamW([p], lr=1e-2, weight_decay=0.1))]:
        p = start.clone().requires_grad_()
        opt = make(p)
        trace = []
        for s in range(steps):
            p.grad = grads[s].clone()
            opt.step()
            trace.append(p.detach().clone())
        out[name] = torch.stack(trace)

    for name, max_norm in [("clip_big", 1.0), ("clip_none", 100.0)]:
        g = (torch.randn(count) * 3).requires_grad_()
        p = torch.zeros(count, requires_grad=True)
        p.grad = g.detach().clone()
        norm = torch.nn.utils.clip_grad_norm_([p], max_norm)
        out[name + ".before"] = g
        out[name + ".after"] = p.grad
        out[name + ".norm"] = norm.reshape(1)
        out[name + ".max_norm"] = torch.tensor([max_norm])
    write("optimizers", out)


if __name__ == "__main__":
    activations()
    gate()
    upsample()
    linear()
    embeddings()
    attention()
    losses()
    vector_quantization()
    optimizers()
