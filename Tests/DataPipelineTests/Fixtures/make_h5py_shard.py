"""Writes h5py_shard.h5: a shard in the common layout as another tool would write it, with its own dataset names.

Run with Debian's interpreter (python3-h5py): /usr/bin/python3 Tests/DataPipelineTests/Fixtures/make_h5py_shard.py
The committed file is what the tests read; they do not need Python.
"""
import os

import h5py
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)
n, size = 6, 16
images = rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
labels = np.array([0, 2, 1, 2, 0, 1], dtype=np.int32)
with h5py.File(os.path.join(here, "h5py_shard.h5"), "w", track_order=False) as f:
    f.create_dataset("x", data=images, chunks=(1, size, size, 3))
    f.create_dataset("y", data=labels)
    f.attrs["class_names"] = "zero\none\ntwo"
    f.attrs["image_size"] = size
# The expected pixel sum and a few values let the Swift test check the contents without numpy.
print("sum", int(images.astype(np.int64).sum()), "first", images[0, 0, 0].tolist(), "last", images[-1, -1, -1].tolist())

# A shard compressed with h5py's own LZF filter, which plain libhdf5 cannot decode: it opens, but reads fail.
with h5py.File(os.path.join(here, "h5py_lzf_shard.h5"), "w") as f:
    # Constant pixels compress, so every chunk really is LZF-encoded (incompressible chunks are stored raw).
    f.create_dataset("images", data=np.zeros_like(images), chunks=(1, size, size, 3), compression="lzf")
    f.create_dataset("labels", data=labels)
