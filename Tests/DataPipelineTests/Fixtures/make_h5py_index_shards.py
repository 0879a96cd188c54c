"""Writes the h5py-made shards the `vqvae2 index` tests read: the forms h5py gives class names, and a dtype
this project does not read.

Run with Debian's interpreter (python3-h5py): /usr/bin/python3 Tests/DataPipelineTests/Fixtures/make_h5py_index_shards.py
The committed files are what the tests read; they do not need Python.
"""
import os

import h5py
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(11)
images = rng.integers(0, 256, size=(4, 8, 8, 3), dtype=np.uint8)

# Class names as a dataset of fixed-length bytes (numpy's S dtype), labels as uint8.
with h5py.File(os.path.join(here, "h5py_names_dataset.h5"), "w") as f:
    f.create_dataset("images", data=images, chunks=(1, 8, 8, 3))
    f.create_dataset("labels", data=np.array([0, 1, 2, 1], dtype=np.uint8))
    f.create_dataset("class_names", data=np.array([b"cat", b"dog", b"fox"]))
    # 16-bit pixels, as a depth or HDR set might hold: a dtype the loader does not read.
    f.create_dataset("wide", data=images.astype(np.uint16) * 257)

# Class names as an attribute holding a list of str (variable-length strings); gzip with 2 images per chunk.
with h5py.File(os.path.join(here, "h5py_names_attribute.h5"), "w") as f:
    f.create_dataset("images", data=images, chunks=(2, 8, 8, 3), compression="gzip")
    f.create_dataset("labels", data=np.array([2, 2, 0, 1], dtype=np.int64))
    f.attrs["class_names"] = ["cat", "dog", "fox"]
