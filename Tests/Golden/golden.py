"""Shared helpers for the scripts that write golden fixtures from PyTorch.

Run a generator with Debian's interpreter, which owns python3-torch:
    /usr/bin/python3 Tests/Golden/<generator>.py
(apt-get install python3-torch first; the tests themselves read the committed JSON and need no Python.)
"""
import json
import os

import torch

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def nhwc(t):
    """NCHW activation -> NHWC, our layout."""
    return t.permute(0, 2, 3, 1).contiguous()


def conv_weight(w):
    """PyTorch Conv2d weight [out, in, kh, kw] -> ours [out, kh, kw, in]."""
    return w.permute(0, 2, 3, 1).contiguous()


def write(name, tensors):
    """Writes {name: tensor} as Tests/Golden/fixtures/<name>.json with shapes and float32 data."""
    os.makedirs(FIXTURES, exist_ok=True)
    out = {}
    for key, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous()
        out[key] = {"shape": list(t.shape), "data": [float(x) for x in t.reshape(-1).tolist()]}
    path = os.path.join(FIXTURES, name + ".json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", path)
