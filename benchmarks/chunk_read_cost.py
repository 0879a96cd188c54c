"""What a shard's chunk layout costs the loader, which reads one image at a time at random positions.

Writes one shard per layout (the same images each time) into a temporary folder and reads single images at random
rows from each, as BatchLoader does, through the same libhdf5 (Debian's python3-h5py links the system library).
The files were just written, so they are in the page cache: this measures HDF5's work (chunk reads and
decompression), not the disk; a cold disk adds the extra bytes read per image on top.

    /usr/bin/python3 benchmarks/chunk_read_cost.py [--size 64] [--images 2048] [--reads 2000]

docs/DATA.md quotes its results; `vqvae2 index` quotes them in its warnings.
"""
import argparse
import os
import tempfile
import time

import h5py
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--size", type=int, default=64)
parser.add_argument("--images", type=int, default=2048)
parser.add_argument("--reads", type=int, default=2000)
args = parser.parse_args()

rng = np.random.default_rng(0)
s = args.size
# Smooth pictures with a little noise compress about as photographs do (random bytes would not compress at all).
y, x = np.mgrid[0:s, 0:s].astype(np.float32) / s
phases = rng.uniform(0, 6.28, size=(args.images, 1, 1, 3)).astype(np.float32)
images = 127 + 100 * np.sin(3 * x[None, :, :, None] + 2 * y[None, :, :, None] + phases)
images = (images + rng.normal(0, 3, size=images.shape)).clip(0, 255).astype(np.uint8)

layouts = [
    ("1 image per chunk, raw", dict(chunks=(1, s, s, 3))),
    ("1 image per chunk, gzip 4", dict(chunks=(1, s, s, 3), compression="gzip", compression_opts=4)),
    ("1 image per chunk, lzf", dict(chunks=(1, s, s, 3), compression="lzf")),
    ("contiguous", dict()),
    ("16 images per chunk, raw", dict(chunks=(16, s, s, 3))),
    ("64 images per chunk, raw", dict(chunks=(64, s, s, 3))),
    ("16 images per chunk, gzip 4", dict(chunks=(16, s, s, 3), compression="gzip", compression_opts=4)),
    ("64 images per chunk, gzip 4", dict(chunks=(64, s, s, 3), compression="gzip", compression_opts=4)),
]
rows = rng.integers(0, args.images, size=args.reads)
print(f"best of 3 rounds; {args.images} images of {s}x{s}x3, {args.reads} single-image reads at random rows, h5py {h5py.version.version}, "
      f"HDF5 {h5py.version.hdf5_version}")
print(f"{'layout':32s} {'MB on disk':>10s} {'images/s':>10s} {'vs 1/chunk raw':>15s}")
baseline = None
with tempfile.TemporaryDirectory() as folder:
    for name, options in layouts:
        path = os.path.join(folder, "shard.h5")
        with h5py.File(path, "w") as f:
            f.create_dataset("images", data=images, **options)
        size = os.path.getsize(path) / 1e6
        with h5py.File(path, "r") as f:
            dataset = f["images"]
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                for row in rows:
                    dataset[row]
                best = min(best, time.perf_counter() - start)
            rate = args.reads / best
        baseline = baseline or rate
        print(f"{name:32s} {size:10.1f} {rate:10.0f} {baseline / rate:14.1f}x")
        os.remove(path)
