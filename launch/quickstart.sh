#!/usr/bin/env bash
# The main job end to end on a fresh Debian 12 machine, on 2 ranks: install native libraries and Debian's
# Fashion-MNIST (launch/setup.sh), build, check the installation, convert Fashion-MNIST's IDX files to 32x32 HDF5
# shards (its 10,000 test images become the held-out split), train the VQ-VAE-2 and both priors together
# (configs/fashion-mnist.yaml, a few minutes; train ends by evaluating on the held-out split and writing
# evaluation.json, as `vqvae2 evaluate` would), and draw class-conditional samples, one row per class. It prints how
# long each part took.
# Everything lands in runs/: fashion-mnist-data/ (shards), fashion-mnist/ (metrics.jsonl, evaluation.json,
# pictures/, checkpoints/, TensorBoard event files). Running it again continues from the newest checkpoint (and has
# nothing left to do once training is done).
set -euo pipefail
cd "$(dirname "$0")/.."

config=configs/fashion-mnist.yaml
run_dir=runs/fashion-mnist
timings=()
# Runs one named part and records its wall time.
part() {
  local name=$1 start=$SECONDS
  shift
  echo "quickstart: $name"
  "$@"
  timings+=("$(printf '  %-10s %4d s' "$name" $((SECONDS - start)))")
}
run() { bash launch/mpirun.sh -n 2 .build/release/vqvae2 "$@"; }
# Training's output is kept, so that the end can repeat its held-out figures.
train() {
  mkdir -p "$run_dir"
  run train --config "$config" --resume auto 2>&1 | tee "$run_dir/train.log"
}

part setup bash launch/setup.sh
part build swift build -c release --product vqvae2
part env run env
part prepare run prepare --source /usr/share/datasets/fashion-mnist --class-names fashion-mnist --image-size 32 \
  --output runs/fashion-mnist-data
part train train
part sample .build/release/vqvae2 sample --config "$config" --checkpoint auto --per-class 8 --temperature 0.8 \
  --output "$run_dir/pictures/samples.png"

echo
echo "quickstart: done in $SECONDS s"
printf '%s\n' "${timings[@]}"
echo "held-out figures ($run_dir/evaluation.json):"
grep '^eval:' "$run_dir/train.log" | tail -1
cat <<TXT

Look at
  $run_dir/evaluation.json                held-out metrics (the table above)
  $run_dir/pictures/reconstructions.png   held-out originals beside their reconstructions
  $run_dir/pictures/samples.png           class-conditional samples, one row per class
  $run_dir/pictures/curves.png            training and held-out curves
  $run_dir/metrics.jsonl                  every logged step, as JSON lines
  $run_dir/events.out.tfevents.*          the same curves and the pictures for TensorBoard (docs/TENSORBOARD.md)
  $run_dir/train.log                      training's output
  $run_dir/checkpoints/                   sharded checkpoints (vqvae2 checkpoint list $run_dir/checkpoints)
TXT
