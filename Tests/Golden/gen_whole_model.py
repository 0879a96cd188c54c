"""Writes the whole-model golden fixture: two joint training steps of a tiny VQ-VAE-2 and both priors in PyTorch.

    /usr/bin/python3 Tests/Golden/gen_whole_model.py        # writes Tests/Golden/fixtures/whole_model.h5

(Debian's interpreter, with apt-get install python3-torch python3-h5py.) The Swift test
Tests/TrainingTests/WholeModelGoldenTests.swift loads the weights and the batch from the fixture, runs the same two
steps through the real TrainingStep and compares what this script recorded. Like llm.c's test_gpt2, it checks the
assembled system, not one layer: the order of the losses, the straight-through estimator, Adam, the EMA update
after it, the priors trained on the batch's codes, and the class terms of both priors.

The networks are written here as plain functions over a dict of tensors that carry our parameter names and our
layouts (convolution weights [out, kh, kw, in], transposed ones [in, kh, kw, out], linear [out, in]), so that
gradients come out in our layout and by our names; each function names the Swift type it mirrors. Settings:
- dropout 0 and dead-code restarts off, so that nothing random happens inside the steps;
- the codebooks start from the first batch's encoder outputs at the positions our EMAQuantizer picks: the same
  counter-based generator (Philox4x32-10 keyed through SplitMix64, Numerics/Random.swift) and the same partial
  Fisher-Yates shuffle, written out below;
- Adam's epsilon is 1e-6, not 1e-8: some gradients are zero in exact arithmetic (attention's key bias, to which
  the softmax is blind), so both implementations hold only rounding noise there, and with a tiny epsilon Adam's
  first step turns that noise into a full step of random sign; a larger epsilon keeps the update continuous.

The fixture (HDF5) holds, in our layouts:
- attributes: config (the experiment config the Swift test parses), classes, torch_version, script_sha256,
  command;
- inputs/images [N, S, S, 3] in [-1, 1], inputs/labels [N];
- parameters/<part>/<name>: every parameter's initial value;
- step<s>/losses [5]: reconstruction, commitment top, commitment bottom, top prior nats, bottom prior nats (the
  order of StepLosses.values);
- step<s>/codes/<level> [N, h, w] and step<s>/margins/<level>: each position's two nearest squared distances'
  relative difference (d2 - d1) / d2, in float64;
- step<s>/summaries [T, 19], one row per tensor after the step: [n, sum, L2 norm, first n <= 16 values, zeros],
  in float64, for the tensors its attribute "names" lists, one per line as "<kind>/<name>": kinds parameter,
  gradient, adam_m and adam_v for every parameter, and ema/<level>/codebook, counts and sums. (One table rather
  than a dataset per tensor: a thousand small datasets cost more in HDF5 headers than their data.)
"""
import hashlib
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "fixtures", "whole_model.h5")

SEED = 5
CLASSES = 3
BATCH = 4
SIZE = 32
C, R, BLOCKS, K, D = 16, 8, 2, 16, 8
BETA, DECAY, EPS, DEAD = 0.25, 0.99, 1e-5, 1.0
# Residual units unlike the channels, so that every weight of the horizontal branch has a shape of its own.
PRIOR = dict(channels=16, residual_units=24, layers=3, first_kernel=5, kernel=3, output_layers=2)
ATTENTION_EVERY, HEADS = 2, 2
CONDITIONING_LAYERS, CONDITIONING_CHANNELS = 1, 8
LR, PRIOR_LR, ADAM_EPS = 1e-3, 2e-3, 1e-6

CONFIG = f"""# Written by Tests/Golden/gen_whole_model.py: the tiny model of the whole-model golden test.
model:
  image_size: {SIZE}
  channels: {C}
  residual_channels: {R}
  residual_blocks: {BLOCKS}
  codebook_size: {K}
  code_dim: {D}
  beta: {BETA}
  ema_decay: {DECAY}
  ema_epsilon: {EPS}
  dead_code_threshold: {DEAD}
  restart_dead_codes: false
top_prior:
  channels: {PRIOR['channels']}
  residual_units: {PRIOR['residual_units']}
  layers: {PRIOR['layers']}
  first_kernel: {PRIOR['first_kernel']}
  kernel: {PRIOR['kernel']}
  dropout: 0
  output_layers: {PRIOR['output_layers']}
  attention_every: {ATTENTION_EVERY}
  heads: {HEADS}
bottom_prior:
  channels: {PRIOR['channels']}
  residual_units: {PRIOR['residual_units']}
  layers: {PRIOR['layers']}
  first_kernel: {PRIOR['first_kernel']}
  kernel: {PRIOR['kernel']}
  dropout: 0
  output_layers: {PRIOR['output_layers']}
  conditioning_layers: {CONDITIONING_LAYERS}
  conditioning_channels: {CONDITIONING_CHANNELS}
train:
  schedule: joint
  seed: {SEED}
  global_batch: {BATCH}
  micro_batches: 1
  learning_rate: {LR}
  prior_learning_rate: {PRIOR_LR}
  warmup_steps: 0
  decay: constant
  weight_decay: 0
  clip_grad_norm: 0
  adam_beta1: 0.9
  adam_beta2: 0.999
  adam_epsilon: {ADAM_EPS}
"""

# ------------------------------------------------------------------------------- our counter-based generator

MASK32, MASK64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
CODEBOOK_INITIALIZATION = 0x1A17  # RandomPurpose.codebookInitialization
LEVEL_KEY = {"top": 0, "bottom": 1}  # VQVAELevel.streamKey


def mix(value):
    """SplitMix64's finaliser (CounterRandom.mix)."""
    z = (value + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def stream(keys):
    s = 0x9E3779B97F4A7C15
    for key in keys:
        s = mix(s ^ mix((key + 0x632BE59BD9B4E019) & MASK64))
    return s


def philox_block(seed, stream_id, index):
    """Philox4x32-10 (CounterRandom.block)."""
    c0, c1, c2, c3 = index & MASK32, (index >> 32) & MASK32, stream_id & MASK32, (stream_id >> 32) & MASK32
    k0, k1 = seed & MASK32, (seed >> 32) & MASK32
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & MASK32, p1 & MASK32, ((p0 >> 32) ^ c3 ^ k1) & MASK32, p0 & MASK32
        k0, k1 = (k0 + 0x9E3779B9) & MASK32, (k1 + 0xBB67AE85) & MASK32
    return c0, c1, c2, c3


def random_integer(seed, stream_id, index, bound):
    """CounterRandom.integer(index, below: bound): the high word of a 64-bit draw times the bound."""
    b = philox_block(seed, stream_id, index)
    return (((b[0] << 32) | b[1]) * bound) >> 64


def initialization_positions(level, count):
    """EMAQuantizer.initializationPositions: a partial Fisher-Yates shuffle of 0..<count, K picks."""
    s = stream([CODEBOOK_INITIALIZATION, LEVEL_KEY[level]])
    permutation = list(range(count))
    distinct = min(K, count)
    for i in range(distinct):
        j = i + random_integer(SEED, s, i, count - i)
        permutation[i], permutation[j] = permutation[j], permutation[i]
    return [permutation[p % distinct] for p in range(K)]


# ------------------------------------------------------------------------------- parameters, by our names


class Parameters:
    """Every parameter of one model part, by our name, in our layout, drawn like PyTorch's defaults."""

    def __init__(self, generator):
        self.generator = generator
        self.tensors = {}

    def add(self, name, shape, fan_in=None):
        if fan_in is None:
            value = torch.randn(*shape, generator=self.generator)
        else:
            bound = 1 / fan_in ** 0.5
            value = (torch.rand(*shape, generator=self.generator) * 2 - 1) * bound
        assert name not in self.tensors, name
        self.tensors[name] = value.requires_grad_()

    def conv(self, name, cin, cout, kh, kw=None, bias=True):
        kw = kw or kh
        self.add(name + ".weight", (cout, kh, kw, cin), cin * kh * kw)
        if bias:
            self.add(name + ".bias", (cout,), cin * kh * kw)

    def conv_transpose(self, name, cin, cout, k):
        # PyTorch takes the fan-in from dimension 1 of its [in, out, kh, kw] weight.
        self.add(name + ".weight", (cin, k, k, cout), cout * k * k)
        self.add(name + ".bias", (cout,), cout * k * k)

    def linear(self, name, fin, fout, bias=True):
        self.add(name + ".weight", (fout, fin), fin)
        if bias:
            self.add(name + ".bias", (fout,), fin)

    def __getitem__(self, name):
        return self.tensors[name]

    def get(self, name):
        return self.tensors.get(name)


def conv(p, name, x, stride=1, padding=0):
    return F.conv2d(x, p[name + ".weight"].permute(0, 3, 1, 2), p.get(name + ".bias"), stride, padding)


def conv_transpose(p, name, x):
    return F.conv_transpose2d(x, p[name + ".weight"].permute(0, 3, 1, 2), p[name + ".bias"], 2, 1)


def linear(p, name, x):
    """A 1x1 projection over the channels of an NCHW map (Linear, AccumulatingProjection)."""
    out = torch.einsum("nchw,oc->nohw", x, p[name + ".weight"])
    bias = p.get(name + ".bias")
    return out if bias is None else out + bias[None, :, None, None]


# ------------------------------------------------------------------------------- VQ-VAE (Model/VQVAE.swift)


def residual_stack_parameters(p, name):
    for b in range(BLOCKS):
        p.conv(f"{name}.{b}.conv1", C, R, 3)
        p.conv(f"{name}.{b}.conv2", R, C, 1)


def residual_stack(p, name, x):
    """ResidualStack: x + conv1x1(ReLU(conv3x3(ReLU(x)))) per block."""
    for b in range(BLOCKS):
        x = x + conv(p, f"{name}.{b}.conv2", F.relu(conv(p, f"{name}.{b}.conv1", F.relu(x), padding=1)))
    return x


def vqvae_parameters(generator):
    p = Parameters(generator)
    p.conv("encoder.bottom.conv1", 3, C // 2, 4)
    p.conv("encoder.bottom.conv2", C // 2, C, 4)
    p.conv("encoder.bottom.conv3", C, C, 3)
    residual_stack_parameters(p, "encoder.bottom.res")
    p.conv("encoder.top.conv1", C, C // 2, 4)
    p.conv("encoder.top.conv2", C // 2, C, 3)
    residual_stack_parameters(p, "encoder.top.res")
    p.conv("quantize.top.input", C, D, 1)
    p.conv("decoder.top.conv1", D, C, 3)
    residual_stack_parameters(p, "decoder.top.res")
    p.conv_transpose("decoder.top.deconv1", C, D, 4)
    p.conv("quantize.bottom.input", D + C, D, 1)
    p.conv_transpose("upsample.top", D, D, 4)
    p.conv("decoder.conv1", 2 * D, C, 3)
    residual_stack_parameters(p, "decoder.res")
    p.conv_transpose("decoder.deconv1", C, C // 2, 4)
    p.conv_transpose("decoder.deconv2", C // 2, 3, 4)
    return p


def bottom_encoder(p, x):
    x = F.relu(conv(p, "encoder.bottom.conv1", x, 2, 1))
    x = F.relu(conv(p, "encoder.bottom.conv2", x, 2, 1))
    x = conv(p, "encoder.bottom.conv3", x, padding=1)
    return F.relu(residual_stack(p, "encoder.bottom.res", x))


def top_quantizer_input(p, features):
    x = F.relu(conv(p, "encoder.top.conv1", features, 2, 1))
    x = conv(p, "encoder.top.conv2", x, padding=1)
    return conv(p, "quantize.top.input", F.relu(residual_stack(p, "encoder.top.res", x)))


def top_decoder(p, x):
    x = conv(p, "decoder.top.conv1", x, padding=1)
    return conv_transpose(p, "decoder.top.deconv1", F.relu(residual_stack(p, "decoder.top.res", x)))


def decoder(p, x):
    x = conv(p, "decoder.conv1", x, padding=1)
    x = F.relu(conv_transpose(p, "decoder.deconv1", F.relu(residual_stack(p, "decoder.res", x))))
    return conv_transpose(p, "decoder.deconv2", x)


class Codebook:
    """EMAQuantizer: codes e, EMA counts N and sums m, started from data, moved by the EMA update."""

    def __init__(self, level):
        self.level = level

    def initialize(self, z):
        """From the batch's quantiser inputs z [N, D, h, w]: code i = the candidate our index rule picks."""
        flat = z.detach().permute(0, 2, 3, 1).reshape(-1, D)
        self.codebook = flat[initialization_positions(self.level, len(flat))].clone()
        share = DEAD if DEAD > 0 else len(flat) / K
        self.counts = torch.full((K,), share)
        self.sums = share * self.codebook

    def search(self, z):
        """Nearest codes of z [N, D, h, w] as [N, h, w], and each position's relative margin (float64)."""
        flat = z.detach().permute(0, 2, 3, 1).reshape(-1, D)
        distance = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.t() + self.codebook.pow(2).sum(1))
        index = distance.argmin(1)
        exact = (flat.double()[:, None, :] - self.codebook.double()[None]).pow(2).sum(2)
        nearest = exact.topk(2, dim=1, largest=False).values
        margin = (nearest[:, 1] - nearest[:, 0]) / nearest[:, 1].clamp_min(1e-300)
        shape = (z.shape[0], z.shape[2], z.shape[3])
        return index.view(shape), margin.view(shape)

    def forward(self, z):
        """Straight-through quantisation of z [N, D, h, w]; keeps the EMA statistics of the assignment."""
        index, margin = self.search(z)
        quantized = self.codebook[index].permute(0, 3, 1, 2)
        flat = z.detach().permute(0, 2, 3, 1).reshape(-1, D)
        onehot = F.one_hot(index.reshape(-1), K).type(flat.dtype)
        self.batch_counts, self.batch_sums = onehot.sum(0), onehot.t() @ flat
        commitment = (z - quantized).pow(2).mean()
        return z + (quantized - z).detach(), commitment, index, margin

    @torch.no_grad()
    def update(self):
        """N <- gamma N + (1-gamma) n, m likewise, e = m / N~ with Laplace smoothing (in float64, as ours)."""
        self.counts = DECAY * self.counts + (1 - DECAY) * self.batch_counts
        self.sums = DECAY * self.sums + (1 - DECAY) * self.batch_sums
        total = self.counts.double().sum()
        smoothed = ((self.counts.double() + EPS) * (total / (total + K * EPS))).float()
        self.codebook = self.sums / smoothed[:, None]


def initialize_codebooks(p, images, top, bottom):
    """VQVAE.quantizerInput(for:level:): the top level from the encoders, the bottom one given the top codes."""
    with torch.no_grad():
        features = bottom_encoder(p, images)
        z_top = top_quantizer_input(p, features)
        top.initialize(z_top)
        codes, _ = top.search(z_top)
        top_vectors = top.codebook[codes].permute(0, 3, 1, 2)
        bottom.initialize(conv(p, "quantize.bottom.input", torch.cat([top_decoder(p, top_vectors), features], 1)))


def vqvae_forward(p, images, top, bottom):
    features = bottom_encoder(p, images)
    top_quantized, commitment_top, top_codes, top_margin = top.forward(top_quantizer_input(p, features))
    z_bottom = conv(p, "quantize.bottom.input", torch.cat([top_decoder(p, top_quantized), features], 1))
    bottom_quantized, commitment_bottom, bottom_codes, bottom_margin = bottom.forward(z_bottom)
    output = decoder(p, torch.cat([conv_transpose(p, "upsample.top", top_quantized), bottom_quantized], 1))
    reconstruction = F.mse_loss(output, images)
    return (reconstruction, commitment_top, commitment_bottom), (top_codes, bottom_codes), (top_margin, bottom_margin)


# ------------------------------------------------------------------------------- priors (Model/GatedPixelCNN*.swift)


def gate(x):
    a, b = x.chunk(2, 1)
    return torch.tanh(a) * torch.sigmoid(b)


def causal_conv(p, name, x, k, vertical, mask_a):
    """CausalConv2D: a shifted convolution, padded (left, right, top, bottom); a negative pad crops."""
    half = k // 2
    crop = -1 if mask_a else 0
    pad = (half, half, half, crop) if vertical else (half, crop, 0, 0)
    return conv(p, name, F.pad(x, pad))


def prior_parameters(generator, name, conditioning):
    c, r, layers = PRIOR["channels"], PRIOR["residual_units"], PRIOR["layers"]
    p = Parameters(generator)
    if conditioning:
        cc = CONDITIONING_CHANNELS
        p.add(f"{name}.conditioning.embedding.weight", (K, cc))
        for b in range(CONDITIONING_LAYERS):
            p.conv(f"{name}.conditioning.block{b}.conv", cc, cc, 3)
            p.conv(f"{name}.conditioning.block{b}.proj", cc, cc, 1)
    p.add(f"{name}.embedding.weight", (K, c))
    for l in range(layers):
        n, k, first, last = f"{name}.layer{l}", PRIOR["first_kernel"] if l == 0 else PRIOR["kernel"], l == 0, l == layers - 1
        reach = k // 2 if first else k // 2 + 1
        p.conv(n + ".vconv", c, 2 * c, reach, k)
        p.conv(n + ".hconv", c, 2 * r, 1, reach)
        p.linear(n + ".link", 2 * c, 2 * r, bias=False)
        if not last:
            p.add(n + ".vclass.weight", (CLASSES, 2 * c))
        p.add(n + ".hclass.weight", (CLASSES, 2 * r))
        if conditioning:
            if not last:
                p.linear(n + ".vcond", CONDITIONING_CHANNELS, 2 * c, bias=False)
            p.linear(n + ".hcond", CONDITIONING_CHANNELS, 2 * r, bias=False)
        p.linear(n + ".proj", r, c)
        if not conditioning and ATTENTION_EVERY > 0 and (l + 1) % ATTENTION_EVERY == 0:
            p.linear(f"{name}.attention{l}.qkv", c, 3 * c)
            p.linear(f"{name}.attention{l}.out", c, c)
    for i in range(PRIOR["output_layers"]):
        p.linear(f"{name}.output{i}", c, K if i == PRIOR["output_layers"] - 1 else c)
    return p


def causal_attention(p, name, x):
    """CausalSelfAttention: raster-order positions, position i sees j <= i, heads side by side in the channels."""
    n, c, h, w = x.shape
    dh = c // HEADS
    qkv = linear(p, name + ".qkv", x).flatten(2).transpose(1, 2)  # [N, T, 3C]
    q, k, v = (qkv[..., i * c:(i + 1) * c].reshape(n, h * w, HEADS, dh).transpose(1, 2) for i in range(3))
    scores = q @ k.transpose(-1, -2) / dh ** 0.5
    future = torch.ones(h * w, h * w, dtype=torch.bool).triu(1)
    context = scores.masked_fill(future, float("-inf")).softmax(-1) @ v  # [N, heads, T, dh]
    context = context.transpose(1, 2).reshape(n, h * w, c).transpose(1, 2).reshape(n, c, h, w)
    return x + linear(p, name + ".out", context)


def conditioning_stack(p, name, top_codes):
    """ConditioningStack: embed the top codes, residual blocks, nearest x2."""
    x = p[name + ".embedding.weight"][top_codes].permute(0, 3, 1, 2)
    for b in range(CONDITIONING_LAYERS):
        x = x + conv(p, f"{name}.block{b}.proj", F.relu(conv(p, f"{name}.block{b}.conv", F.relu(x), padding=1)))
    return F.interpolate(x, scale_factor=2, mode="nearest")


def prior_loss(p, name, codes, labels, top_codes=None):
    """GatedPixelCNN (+ TopPrior / BottomPrior) and the mean cross-entropy over positions, in nats."""
    layers = PRIOR["layers"]
    cond = conditioning_stack(p, name + ".conditioning", top_codes) if top_codes is not None else None
    v = h = p[name + ".embedding.weight"][codes].permute(0, 3, 1, 2)
    for l in range(layers):
        n, k, first, last = f"{name}.layer{l}", PRIOR["first_kernel"] if l == 0 else PRIOR["kernel"], l == 0, l == layers - 1
        vpre = causal_conv(p, n + ".vconv", v, k, True, first)
        if not last:
            vpre = vpre + p[n + ".vclass.weight"][labels][:, :, None, None]
            if cond is not None:
                vpre = vpre + linear(p, n + ".vcond", cond)
        hpre = causal_conv(p, n + ".hconv", h, k, False, first) + linear(p, n + ".link", vpre)
        hpre = hpre + p[n + ".hclass.weight"][labels][:, :, None, None]
        if cond is not None:
            hpre = hpre + linear(p, n + ".hcond", cond)
        out = linear(p, n + ".proj", gate(hpre))
        h = out if first else h + out
        v = None if last else gate(vpre)
        if cond is None and ATTENTION_EVERY > 0 and (l + 1) % ATTENTION_EVERY == 0:
            h = causal_attention(p, f"{name}.attention{l}", h)
    for i in range(PRIOR["output_layers"]):
        h = linear(p, f"{name}.output{i}", F.relu(h))
    return F.cross_entropy(h, codes)


# ------------------------------------------------------------------------------- the joint step


def summary(t):
    """[sum, L2 norm, first 16 values] of a tensor, sums in float64."""
    flat = t.detach().reshape(-1)
    head = flat[:16].double()
    return torch.cat([flat.double().sum()[None], flat.double().norm()[None], head]).numpy()


def main():
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    images_nhwc = torch.rand(BATCH, SIZE, SIZE, 3, generator=generator) * 2 - 1
    labels = torch.tensor([0, 2, 1, 2])
    images = images_nhwc.permute(0, 3, 1, 2).contiguous()
    parts = {"vqvae": vqvae_parameters(generator),
             "top_prior": prior_parameters(generator, "top_prior", conditioning=False),
             "bottom_prior": prior_parameters(generator, "bottom_prior", conditioning=True)}
    initial = {part: {n: t.detach().clone() for n, t in p.tensors.items()} for part, p in parts.items()}
    rates = {"vqvae": LR, "top_prior": PRIOR_LR, "bottom_prior": PRIOR_LR}
    optimizers = {part: torch.optim.Adam(list(p.tensors.values()), lr=rates[part], eps=ADAM_EPS)
                  for part, p in parts.items()}
    levels = {"top": Codebook("top"), "bottom": Codebook("bottom")}
    vq = parts["vqvae"]
    initialize_codebooks(vq, images, levels["top"], levels["bottom"])

    steps = []
    for _ in range(2):
        for optimizer in optimizers.values():
            optimizer.zero_grad(set_to_none=False)
        (reconstruction, commit_top, commit_bottom), (top_codes, bottom_codes), margins = vqvae_forward(
            vq, images, levels["top"], levels["bottom"])
        (reconstruction + BETA * (commit_top + commit_bottom)).backward()
        top_nats = prior_loss(parts["top_prior"], "top_prior", top_codes, labels)
        top_nats.backward()
        bottom_nats = prior_loss(parts["bottom_prior"], "bottom_prior", bottom_codes, labels, top_codes)
        bottom_nats.backward()
        for optimizer in optimizers.values():
            optimizer.step()
        for codebook in levels.values():
            codebook.update()
        summaries = {}
        for part, p in parts.items():
            state = optimizers[part].state
            for name, t in p.tensors.items():
                summaries[f"parameter/{name}"] = summary(t)
                summaries[f"gradient/{name}"] = summary(t.grad)
                summaries[f"adam_m/{name}"] = summary(state[t]["exp_avg"])
                summaries[f"adam_v/{name}"] = summary(state[t]["exp_avg_sq"])
        for level, codebook in levels.items():
            for field in ["codebook", "counts", "sums"]:
                summaries[f"ema/{level}/{field}"] = summary(getattr(codebook, field))
        losses = [reconstruction, commit_top, commit_bottom, top_nats, bottom_nats]
        steps.append({"losses": np.array([float(x) for x in losses]),
                      "codes": {"top": top_codes, "bottom": bottom_codes},
                      "margins": {"top": margins[0], "bottom": margins[1]}, "summaries": summaries})
        print("step losses", " ".join(f"{float(x):.6f}" for x in losses),
              "| smallest code margins", " ".join(f"{float(m.min()):.2e}" for m in margins))

    with open(__file__, "rb") as f:
        script_hash = hashlib.sha256(f.read()).hexdigest()
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with h5py.File(OUTPUT, "w") as out:
        out.attrs["config"] = CONFIG
        out.attrs["classes"] = np.int32(CLASSES)
        out.attrs["torch_version"] = str(torch.__version__)
        out.attrs["script_sha256"] = script_hash
        out.attrs["command"] = "/usr/bin/python3 Tests/Golden/gen_whole_model.py"
        out["inputs/images"] = images_nhwc.numpy().astype(np.float32)
        out["inputs/labels"] = labels.numpy().astype(np.int32)
        for part, tensors in initial.items():
            for name, t in tensors.items():
                out[f"parameters/{part}/{name}"] = t.numpy().astype(np.float32)
        for s, step in enumerate(steps, start=1):
            out[f"step{s}/losses"] = step["losses"]
            for level in ["top", "bottom"]:
                out[f"step{s}/codes/{level}"] = step["codes"][level].numpy().astype(np.int32)
                out[f"step{s}/margins/{level}"] = step["margins"][level].numpy()
            names = list(step["summaries"])
            table = np.zeros((len(names), 19))
            for row, name in enumerate(names):
                values = step["summaries"][name]
                table[row, 0] = len(values) - 2
                table[row, 1:1 + len(values)] = values
            out[f"step{s}/summaries"] = table
            out[f"step{s}/summaries"].attrs["names"] = "\n".join(names)
    print("wrote", OUTPUT, os.path.getsize(OUTPUT), "bytes; torch", torch.__version__, "script", script_hash[:12])


if __name__ == "__main__":
    main()
