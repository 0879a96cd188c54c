#!/usr/bin/env bash
# The main job end to end on a fresh Debian 12 machine, on 2 ranks: install native libraries, build, check the
# installation, draw the built-in demo image set and convert it to HDF5 shards, train the VQ-VAE-2 and its priors
# (configs/demo.yaml, a few minutes), evaluate on the held-out shard, and draw class-conditional samples.
# Everything lands in runs/: demo-data/ (shards), demo/ (metrics.jsonl, evaluation.json, pictures/, checkpoints/).
# Running it again continues from the newest checkpoint (and has nothing left to do once training is done).
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/setup.sh
swift build -c release --product vqvae2
run() { bash launch/mpirun.sh -n 2 .build/release/vqvae2 "$@"; }

run env
run prepare --demo runs/demo-source --output runs/demo-data
run train --config configs/demo.yaml --resume auto
run evaluate --config configs/demo.yaml --checkpoint auto
.build/release/vqvae2 sample --config configs/demo.yaml --checkpoint auto --per-class 8 --temperature 0.8 \
    --output runs/demo/pictures/samples.png

cat <<'TXT'

quickstart: done. Look at
  runs/demo/evaluation.json            held-out metrics (the table above)
  runs/demo/pictures/reconstructions.png   held-out originals beside their reconstructions
  runs/demo/pictures/samples.png       class-conditional samples, one row per class
  runs/demo/pictures/curves.png        training and held-out curves
  runs/demo/metrics.jsonl              every logged step, as JSON lines
  runs/demo/checkpoints/               sharded checkpoints (vqvae2 checkpoint list runs/demo/checkpoints)
TXT
