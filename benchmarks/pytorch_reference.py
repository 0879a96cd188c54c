#!/usr/bin/python3
"""PyTorch reference of vqvae2's training steps, for the speed ratios of issue 9 (docs/PERFORMANCE.md).

The same networks as Sources/Model, layer for layer:
- VQ-VAE-2 of docs/MODEL.md (C=128, residual 32, K=512, D=64): EMA quantisers with Laplace smoothing,
  dead-code restarts from the batch's encoder outputs, MSE + 0.25 commitment, straight-through estimator.
- Gated PixelCNN priors (GatedPixelCNN.swift, GatedPixelCNNLayer.swift, TopPrior.swift, BottomPrior.swift,
  ConditioningStack.swift) at PriorConfig.small: 10 gated layers of 128, first kernel 7 (mask A) then 3 (mask B),
  shifted causal convolutions, gates tanh(a) * sigmoid(b), a bias-free 1x1 link from the vertical
  pre-activations, class tables added in both gates, the bottom prior's conditioning stack (embedding, 2 residual
  blocks, nearest x2) projected into both gates, dropout 0.1, a 1x1 output stack (ReLU before each layer).
Training steps are forward, backward and Adam (lr 3e-4).

It runs under Debian's PyTorch 1.13 and under the newest 2.x from PyPI (benchmarks/setup_pytorch.sh, issue 15).
With --compile (2.x only) the training-step cases wrap the networks' forward passes in torch.compile (inductor):
the VQ-VAE (encoders, quantisers' distances, argmin and statistics, decoders, loss) and each prior (loss
included), so that their backward passes are compiled too. The Adam steps and the EMA codebook update stay eager:
the update's dead-code restart depends on the data (nonzero, a variable number of rows), and the optimiser
steps are outside the graph. The warm-up steps compile; the RESULT line's compile_s is the warm-up's time beyond
that of as many steady steps, and the timed steps exclude it.

Usage (in the reference environment of docs/PERFORMANCE.md, which run.sh sets: OPENBLAS_NUM_THREADS=1,
MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ at 1 GiB, Debian's /usr/bin/python3 with python3-torch):
  /usr/bin/python3 benchmarks/pytorch_reference.py                  # every case, each in a fresh process
  /usr/bin/python3 benchmarks/pytorch_reference.py --case top --size 64 --batch 32 --threads 1
  /usr/bin/python3 benchmarks/pytorch_reference.py --case ddp --world 2  # DistributedDataParallel, gloo, CPU
  ~/.cache/vqvae2/torch-venv/bin/python benchmarks/pytorch_reference.py --case joint --compile
  /usr/bin/python3 benchmarks/pytorch_reference.py --case sample --priors demo --size 64 --batch 8
      # naive sampling (the whole network per position, as the popular PyTorch port samples)
Each case prints one line "RESULT key=value ..." (images/s is the median over the timed steps).
"""
import argparse
import os
import resource
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# Our parameter counts (vqvae2-bench train prints them): the reference must build exactly these networks.
OURS = {"vqvae": 1388867, "top": 4168064, "bottom": 5184384}


# ---------------------------------------------------------------------------------------------- VQ-VAE


class ResBlock(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.conv = nn.Sequential(nn.ReLU(), nn.Conv2d(c, r, 3, padding=1), nn.ReLU(), nn.Conv2d(r, c, 1))

    def forward(self, x):
        return x + self.conv(x)


def encoder(cin, c, r, stride):
    if stride == 4:
        layers = [nn.Conv2d(cin, c // 2, 4, 2, 1), nn.ReLU(), nn.Conv2d(c // 2, c, 4, 2, 1), nn.ReLU(),
                  nn.Conv2d(c, c, 3, padding=1)]
    else:
        layers = [nn.Conv2d(cin, c // 2, 4, 2, 1), nn.ReLU(), nn.Conv2d(c // 2, c, 3, padding=1)]
    return nn.Sequential(*layers, ResBlock(c, r), ResBlock(c, r), nn.ReLU())


def decoder(cin, cout, c, r, stride):
    layers = [nn.Conv2d(cin, c, 3, padding=1), ResBlock(c, r), ResBlock(c, r), nn.ReLU()]
    if stride == 4:
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(c // 2, cout, 4, 2, 1)]
    else:
        layers += [nn.ConvTranspose2d(c, cout, 4, 2, 1)]
    return nn.Sequential(*layers)


class EMAQuantizer(nn.Module):
    """EMA codebook (VQ-VAE appendix A.1) with Laplace smoothing and dead-code restarts, like EMAQuantizer.swift."""

    def __init__(self, k=512, d=64, decay=0.99, eps=1e-5, dead=1.0):
        super().__init__()
        self.k, self.d, self.decay, self.eps, self.dead = k, d, decay, eps, dead
        self.register_buffer("embed", torch.randn(k, d))
        self.register_buffer("counts", torch.ones(k))
        self.register_buffer("sums", self.embed.clone())

    def forward(self, z):  # z [N, H, W, D]
        flat = z.reshape(-1, self.d)
        distance = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.embed.t() + self.embed.pow(2).sum(1)[None])
        index = distance.argmin(1)
        quantized = F.embedding(index, self.embed).view_as(z)
        onehot = F.one_hot(index, self.k).type(flat.dtype)
        self.statistics = torch.cat([onehot.sum(0), (onehot.t() @ flat.detach()).reshape(-1)])
        self.candidates = flat.detach()
        commitment = (quantized.detach() - z).pow(2).mean()
        return z + (quantized - z).detach(), commitment, index.view(z.shape[:-1])

    @torch.no_grad()
    def update(self, statistics):
        n, s = statistics[: self.k], statistics[self.k:].view(self.k, self.d)
        self.counts.mul_(self.decay).add_(n, alpha=1 - self.decay)
        self.sums.mul_(self.decay).add_(s, alpha=1 - self.decay)
        total = self.counts.sum()
        smoothed = (self.counts + self.eps) / (total + self.k * self.eps) * total
        self.embed.copy_(self.sums / smoothed[:, None])
        dead = (self.counts < self.dead).nonzero().flatten()
        if len(dead):
            rows = self.candidates[torch.randint(len(self.candidates), (len(dead),))]
            self.embed[dead] = rows
            self.sums[dead] = rows * self.dead
            self.counts[dead] = self.dead


class VQVAE(nn.Module):
    def __init__(self, c=128, r=32, k=512, d=64):
        super().__init__()
        self.enc_b = encoder(3, c, r, 4)
        self.enc_t = encoder(c, c, r, 2)
        self.quantize_conv_t = nn.Conv2d(c, d, 1)
        self.quantize_t = EMAQuantizer(k, d)
        self.dec_t = decoder(d, d, c, r, 2)
        self.quantize_conv_b = nn.Conv2d(d + c, d, 1)
        self.quantize_b = EMAQuantizer(k, d)
        self.upsample_t = nn.ConvTranspose2d(d, d, 4, 2, 1)
        self.dec = decoder(2 * d, 3, c, r, 4)

    def forward(self, x):
        enc_b = self.enc_b(x)
        enc_t = self.enc_t(enc_b)
        quant_t, commit_t, id_t = self.quantize_t(self.quantize_conv_t(enc_t).permute(0, 2, 3, 1))
        quant_t = quant_t.permute(0, 3, 1, 2)
        dec_t = self.dec_t(quant_t)
        quant_b, commit_b, id_b = self.quantize_b(
            self.quantize_conv_b(torch.cat([dec_t, enc_b], 1)).permute(0, 2, 3, 1))
        quant_b = quant_b.permute(0, 3, 1, 2)
        out = self.dec(torch.cat([self.upsample_t(quant_t), quant_b], 1))
        return F.mse_loss(out, x) + 0.25 * (commit_t + commit_b), id_t, id_b

    def decode(self, top, bottom):
        """Images from top codes [N, H/8, W/8] and bottom codes [N, H/4, W/4]."""
        quant_t = F.embedding(top, self.quantize_t.embed).permute(0, 3, 1, 2)
        quant_b = F.embedding(bottom, self.quantize_b.embed).permute(0, 3, 1, 2)
        return self.dec(torch.cat([self.upsample_t(quant_t), quant_b], 1))

    def statistics(self):
        return torch.cat([self.quantize_t.statistics, self.quantize_b.statistics])

    def ema_update(self, statistics):
        n = self.quantize_t.k * (1 + self.quantize_t.d)
        self.quantize_t.update(statistics[:n])
        self.quantize_b.update(statistics[n:])


# ---------------------------------------------------------------------------------------------- priors


def gate(x):
    a, b = x.chunk(2, 1)
    return torch.tanh(a) * torch.sigmoid(b)


class CausalConv(nn.Module):
    """CausalConv2D.swift: a shifted convolution with asymmetric padding (negative padding crops)."""

    def __init__(self, cin, cout, k, vertical, mask_a):
        super().__init__()
        half = k // 2
        reach = half if mask_a else half + 1
        crop = -1 if mask_a else 0
        if vertical:
            self.conv = nn.Conv2d(cin, cout, (reach, k))
            self.pad = (half, half, half, crop)  # left, right, top, bottom
        else:
            self.conv = nn.Conv2d(cin, cout, (1, reach))
            self.pad = (half, crop, 0, 0)

    def forward(self, x):
        return self.conv(F.pad(x, self.pad))


class GatedLayer(nn.Module):
    """GatedPixelCNNLayer.swift."""

    def __init__(self, c, r, k, first, last, classes, cond_channels, dropout):
        super().__init__()
        self.first, self.last = first, last
        self.vconv = CausalConv(c, 2 * c, k, True, first)
        self.hconv = CausalConv(c, 2 * r, k, False, first)
        self.link = nn.Conv2d(2 * c, 2 * r, 1, bias=False)
        self.vclass = None if last else nn.Embedding(classes, 2 * c)
        self.hclass = nn.Embedding(classes, 2 * r)
        self.vcond = nn.Conv2d(cond_channels, 2 * c, 1, bias=False) if cond_channels and not last else None
        self.hcond = nn.Conv2d(cond_channels, 2 * r, 1, bias=False) if cond_channels else None
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Conv2d(r, c, 1)
        for e in [self.vclass, self.hclass]:
            if e is not None:
                nn.init.normal_(e.weight)

    def forward(self, v, h, labels, cond):
        vpre = self.vconv(v)
        vout = None
        if not self.last:
            vpre = vpre + self.vclass(labels)[:, :, None, None]
            if self.vcond is not None:
                vpre = vpre + self.vcond(cond)
            vout = gate(vpre)
        hpre = self.hconv(h) + self.link(vpre) + self.hclass(labels)[:, :, None, None]
        if self.hcond is not None:
            hpre = hpre + self.hcond(cond)
        out = self.proj(self.dropout(gate(hpre)))
        return vout, out if self.first else h + out


class ConditioningStack(nn.Module):
    """ConditioningStack.swift: embed the top codes, residual blocks x + 1x1(R(3x3(R(x)))), nearest x2."""

    def __init__(self, k, cc, blocks):
        super().__init__()
        self.embedding = nn.Embedding(k, cc)
        nn.init.normal_(self.embedding.weight)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Conv2d(cc, cc, 3, padding=1), nn.ReLU(), nn.Conv2d(cc, cc, 1))
            for _ in range(blocks))

    def forward(self, top):
        x = self.embedding(top).permute(0, 3, 1, 2)
        for block in self.blocks:
            x = x + block(x)
        return F.interpolate(x, scale_factor=2, mode="nearest")


class CausalAttention(nn.Module):
    """Attention.swift: h + out(softmax(q k^T / sqrt(d)) v) over raster positions, position i seeing j <= i."""

    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(c, 3 * c)
        self.out = nn.Linear(c, c)

    def forward(self, h):
        n, c, height, width = h.shape
        t = height * width
        q, k, v = self.qkv(h.flatten(2).transpose(1, 2)).chunk(3, -1)
        q, k, v = (x.reshape(n, t, self.heads, c // self.heads).transpose(1, 2) for x in (q, k, v))
        scores = q @ k.transpose(-1, -2) / (c // self.heads) ** 0.5
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, t, c)
        return h + self.out(context).transpose(1, 2).reshape(n, c, height, width)


class GatedPixelCNN(nn.Module):
    """GatedPixelCNN.swift with TopPrior/BottomPrior around it (PriorConfig.small by default: no attention)."""

    def __init__(self, k=512, classes=10, c=128, residual_units=None, layers=10, first_kernel=7, kernel=3,
                 output_layers=2, conditioning=False, cond_layers=2, cond_channels=128, dropout=0.1,
                 attention_every=0, heads=4):
        super().__init__()
        r = residual_units or c
        self.embedding = nn.Embedding(k, c)
        nn.init.normal_(self.embedding.weight)
        self.layers = nn.ModuleList(
            GatedLayer(c, r, first_kernel if i == 0 else kernel, i == 0, i == layers - 1, classes,
                       cond_channels if conditioning else 0, dropout) for i in range(layers))
        self.attention = nn.ModuleList(
            CausalAttention(c, heads) if attention_every and (i + 1) % attention_every == 0 else nn.Identity()
            for i in range(layers))
        self.output = nn.ModuleList(
            nn.Conv2d(c, k if i == output_layers - 1 else c, 1) for i in range(output_layers))
        self.conditioning = ConditioningStack(k, cond_channels, cond_layers) if conditioning else None

    def logits(self, codes, labels, top=None):
        cond = self.conditioning(top) if self.conditioning is not None else None
        v = h = self.embedding(codes).permute(0, 3, 1, 2)
        for layer, attention in zip(self.layers, self.attention):
            v, h = layer(v, h, labels, cond)
            h = attention(h)
        for linear in self.output:
            h = linear(F.relu(h))
        return h

    def forward(self, codes, labels, top=None):
        return F.cross_entropy(self.logits(codes, labels, top), codes)


# ---------------------------------------------------------------------------------------------- steps


def count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(step, warmup, repeats):
    """The median step time, and the warm-up's time beyond that of as many median steps (compilation, if any)."""
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    warming = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    median = sorted(times)[len(times) // 2]
    return median, max(0.0, warming - warmup * median)


def run_case(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b, s = args.batch, args.size
    images = torch.rand(b, 3, s, s) * 2 - 1
    labels = torch.randint(10, (b,))
    top_codes = torch.randint(512, (b, s // 8, s // 8))
    bottom_codes = torch.randint(512, (b, s // 4, s // 4))
    vqvae, top, bottom = VQVAE(), GatedPixelCNN(), GatedPixelCNN(conditioning=True)
    counts = {"vqvae": count(vqvae), "top": count(top), "bottom": count(bottom)}
    optimizers = {name: torch.optim.Adam(m.parameters(), lr=3e-4)
                  for name, m in [("vqvae", vqvae), ("top", top), ("bottom", bottom)]}
    # The compiled wrappers share the modules' parameters and buffers; statistics() and ema_update() stay on the
    # eager modules. Both priors run GatedPixelCNN.forward, which dynamo compiles once per code object: the
    # bottom prior's other code-map size would otherwise turn it into a dynamic-shape graph, so each instance
    # gets its own static one.
    wrap = (lambda m: torch.compile(m, dynamic=False)) if args.compile else (lambda m: m)
    vq_forward, forward = wrap(vqvae), {"top": wrap(top), "bottom": wrap(bottom)}

    def vq_step():
        optimizers["vqvae"].zero_grad(set_to_none=True)
        loss, id_t, id_b = vq_forward(images)
        loss.backward()
        optimizers["vqvae"].step()
        vqvae.ema_update(vqvae.statistics())
        return id_t, id_b

    def prior_step(name, codes, top_map=None):
        optimizers[name].zero_grad(set_to_none=True)
        forward[name](codes, labels, top_map).backward()
        optimizers[name].step()

    def joint_step():
        id_t, id_b = vq_step()
        prior_step("top", id_t)
        prior_step("bottom", id_b, id_t)

    step = {"vqvae": vq_step, "top": lambda: prior_step("top", top_codes),
            "bottom": lambda: prior_step("bottom", bottom_codes, top_codes), "joint": joint_step}[args.case]
    seconds, compile_seconds = timed(step, args.warmup, args.repeats)
    print(f"RESULT case={args.case} size={s} batch={b} threads={args.threads} torch={torch.__version__} "
          f"compile={'yes' if args.compile else 'no'} compile_s={compile_seconds:.1f} images_per_s={b / seconds:.2f} "
          f"step_ms={seconds * 1e3:.1f} peak_rss_mb={peak_rss_mb():.0f} "
          f"params_vqvae={counts['vqvae']} params_top={counts['top']} params_bottom={counts['bottom']}", flush=True)


# The priors of `vqvae2-bench sample --priors ...`: configs/demo.yaml's, PriorConfig.small, and the paper's
# (configs/imagenet256.yaml's); and those of configs/imagenet128.yaml and configs/imagenet64.yaml.
PRIORS = {
    "imagenet64": dict(top=dict(c=128, residual_units=512, layers=12, first_kernel=7, kernel=3, output_layers=2,
                                attention_every=4, heads=4),
                       bottom=dict(c=128, residual_units=256, layers=12, first_kernel=7, kernel=3, output_layers=2,
                                   cond_layers=4, cond_channels=128), classes=1000, residual=64),
    "imagenet128": dict(top=dict(c=256, residual_units=512, layers=12, first_kernel=5, kernel=3, output_layers=2,
                                 attention_every=4, heads=8),
                        bottom=dict(c=128, residual_units=256, layers=12, first_kernel=5, kernel=3, output_layers=2,
                                    cond_layers=4, cond_channels=128), classes=1000, residual=64),
    "demo": dict(top=dict(c=64, layers=10, first_kernel=7, kernel=3, output_layers=2, attention_every=5, heads=4),
                 bottom=dict(c=64, layers=10, first_kernel=7, kernel=3, output_layers=2, cond_layers=2,
                             cond_channels=64), classes=10, residual=32),
    "small": dict(top=dict(), bottom=dict(), classes=10, residual=32),
    "paper": dict(top=dict(c=512, residual_units=2048, layers=20, first_kernel=5, kernel=5, output_layers=20,
                           attention_every=5, heads=8),
                  bottom=dict(c=512, residual_units=1024, layers=20, first_kernel=5, kernel=5, output_layers=20,
                              cond_layers=20, cond_channels=512), classes=1000, residual=64),
}


def run_count():
    """The parameters of each PRIORS spec's networks, which ParameterCountTests checks ours against."""
    for name, spec in sorted(PRIORS.items()):
        top = GatedPixelCNN(classes=spec["classes"], dropout=0.1, **spec["top"])
        bottom = GatedPixelCNN(classes=spec["classes"], dropout=0.1, conditioning=True, **spec["bottom"])
        print(f"{name}: params_vqvae={count(VQVAE(r=spec['residual']))} params_top={count(top)} "
              f"params_bottom={count(bottom)}", flush=True)
        del top, bottom


@torch.no_grad()
def naive_raster(model, labels, height, width, positions, top=None):
    """Samples a code map the way the popular PyTorch VQ-VAE-2 port does: the whole network on the whole map for
    every position. Returns the codes and the seconds per position over the first `positions` positions."""
    codes = torch.zeros(len(labels), height, width, dtype=torch.long)
    start = time.perf_counter()
    for p in range(positions):
        r, c = divmod(p, width)
        logits = model.logits(codes, labels, top)[:, :, r, c]
        codes[:, r, c] = torch.multinomial(logits.softmax(-1), 1)[:, 0]
    return codes, (time.perf_counter() - start) / positions


def run_sample(args):
    """Naive sampling end to end (top codes, bottom codes, decoding) on random weights, in eval mode. With
    --positions P only the first P positions of each map are drawn and timed, and the rest extrapolated: every
    position costs one full forward of the prior."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = PRIORS[args.priors]
    top_prior = GatedPixelCNN(classes=spec["classes"], dropout=0.1, **spec["top"]).eval()
    bottom_prior = GatedPixelCNN(classes=spec["classes"], dropout=0.1, conditioning=True, **spec["bottom"]).eval()
    vqvae = VQVAE(r=spec["residual"]).eval()
    labels = torch.arange(args.batch) % spec["classes"]
    th, bh = args.size // 8, args.size // 4
    top_positions = min(args.positions or th * th, th * th)
    bottom_positions = min(args.positions or bh * bh, bh * bh)
    start = time.perf_counter()
    top, top_seconds = naive_raster(top_prior, labels, th, th, top_positions)
    bottom, bottom_seconds = naive_raster(bottom_prior, labels, bh, bh, bottom_positions, top)
    decode_start = time.perf_counter()
    with torch.no_grad():
        vqvae.decode(top, bottom)
    decode = time.perf_counter() - decode_start
    measured = time.perf_counter() - start
    seconds = top_seconds * th * th + bottom_seconds * bh * bh + decode
    extrapolated = top_positions < th * th or bottom_positions < bh * bh
    seconds = seconds if extrapolated else measured
    print(f"RESULT sampler=naive-pytorch size={args.size} priors={args.priors} batch={args.batch} "
          f"threads={args.threads} samples_per_s={args.batch / seconds:.6g} s_per_sample={seconds / args.batch:.6g} "
          f"peak_rss_mb={peak_rss_mb():.0f} extrapolated={'yes' if extrapolated else 'no'}", flush=True)


def run_ddp(args):
    """VQ-VAE at args.size, global batch args.batch over args.world gloo processes, one thread each."""
    import torch.distributed as dist
    import torch.multiprocessing as mp
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29517")
    mp.spawn(ddp_worker, args=(args,), nprocs=args.world, join=True)


def ddp_worker(rank, args):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=args.world)
    torch.manual_seed(rank)
    local = args.batch // args.world
    images = torch.rand(local, 3, args.size, args.size) * 2 - 1
    vqvae = VQVAE()
    model = DistributedDataParallel(vqvae)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss, _, _ = model(images)
        loss.backward()
        optimizer.step()
        statistics = vqvae.statistics()
        dist.all_reduce(statistics)
        vqvae.ema_update(statistics)

    seconds, _ = timed(step, args.warmup, args.repeats)
    slowest = torch.tensor([seconds])
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    memory = torch.tensor([peak_rss_mb()])
    dist.all_reduce(memory, op=dist.ReduceOp.MAX)
    if rank == 0:
        print(f"RESULT case=ddp size={args.size} batch={args.batch} world={args.world} torch={torch.__version__} "
              f"images_per_s={args.batch / slowest.item():.2f} step_ms={slowest.item() * 1e3:.1f} "
              f"peak_rss_mb={memory.item():.0f}", flush=True)
    # Every collective is done: leave at once. A 1-process gloo group once hung in its teardown (futex wait after
    # the result was printed), which left mp.spawn waiting for ever.
    sys.stdout.flush()
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=["vqvae", "top", "bottom", "joint", "ddp", "sample", "count", "all"],
                        default="all", help="count: the parameters of every --priors spec's three networks")
    parser.add_argument("--priors", choices=sorted(PRIORS), default="demo", help="sample: the priors' sizes")
    parser.add_argument("--positions", type=int, default=0,
                        help="sample: time only the first P positions of each map and extrapolate (0: all)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--world", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--compile", action="store_true",
                        help="vqvae, top, bottom, joint (and all): torch.compile the networks (PyTorch 2.x)")
    args = parser.parse_args()
    if args.compile and not hasattr(torch, "compile"):
        parser.error(f"--compile needs PyTorch 2.x; this is {torch.__version__}")
    if args.compile and args.case in ("ddp", "sample"):
        parser.error("--compile applies to the training-step cases only")
    if args.compile and args.warmup < 1:
        parser.error("--compile needs at least one warm-up step, which compiles")
    if args.case == "ddp":
        return run_ddp(args)
    if args.case == "sample":
        return run_sample(args)
    if args.case == "count":
        return run_count()
    if args.case != "all":
        return run_case(args)
    # Every case in a fresh process, so that each peak resident memory is that case's alone.
    counts = None
    for case, size in [("vqvae", 64), ("vqvae", 32), ("top", 64), ("bottom", 64), ("joint", 64)]:
        out = subprocess.run([sys.executable, __file__, "--case", case, "--size", str(size), "--batch",
                              str(args.batch), "--threads", str(args.threads), "--warmup", str(args.warmup),
                              "--repeats", str(args.repeats)] + (["--compile"] if args.compile else []),
                             check=True, capture_output=True, text=True).stdout
        print(out, end="")
        counts = counts or dict(f.split("=") for f in out.split() if f.startswith("params_"))
    for name in ["vqvae", "top", "bottom"]:
        theirs = int(counts["params_" + name])
        print(f"parameters {name}: PyTorch {theirs}, vqvae2 {OURS[name]}: {'match' if theirs == OURS[name] else 'MISMATCH'}")
    for world in [1, 2]:
        subprocess.run([sys.executable, __file__, "--case", "ddp", "--world", str(world), "--batch", "64",
                        "--warmup", str(args.warmup), "--repeats", str(args.repeats)], check=True)


if __name__ == "__main__":
    main()
