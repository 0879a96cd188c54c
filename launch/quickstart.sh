#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install native libraries, build, check the installation on 2 ranks,
# then draw the built-in demo image set and convert it to HDF5 shards on 2 ranks (runs/demo-data).
# It grows into the end-to-end demo (train, evaluate, sample) as those land.
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/setup.sh
swift build -c release --product vqvae2
bash launch/mpirun.sh -n 2 .build/release/vqvae2 env
bash launch/mpirun.sh -n 2 .build/release/vqvae2 prepare --demo runs/demo-source --output runs/demo-data
