#!/usr/bin/env bash
# TensorBoard's own writer and reader against ours (issue 18), in a virtual environment with the `tensorboard`
# package from PyPI (no TensorFlow), never part of the test command:
#   1. writes Tests/TensorBoardTests/Fixtures/tensorboard-writer.tfevents with tensorboard's EventFileWriter, the
#      file EventFixtureTests decodes with our reader (so that our reader and writer cannot share a mistake);
#   2. trains the tiny model with our vqvae2 (4 steps, held-out evaluations at 2 and 4, a checkpoint at 2), resumes
#      from step 2 as after a crash (a second event file, SessionLog START at step 3), reruns the finished run (no
#      third file), and prints what tensorboard's EventAccumulator reads from the run directory.
# docs/TENSORBOARD.md records its output.
#
#   benchmarks/tensorboard_fixture.sh
#   VQVAE2_TENSORBOARD_VENV=/somewhere/else VQVAE2_BIN=.build/release/vqvae2 benchmarks/tensorboard_fixture.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source benchmarks/tiny_model.sh

venv=${VQVAE2_TENSORBOARD_VENV:-$HOME/.cache/vqvae2/tensorboard-venv}
if [[ ! -x "$venv/bin/python" ]]; then
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade tensorboard
python=$venv/bin/python

"$python" benchmarks/tensorboard_fixture.py write Tests/TensorBoardTests/Fixtures/tensorboard-writer.tfevents

bin=${VQVAE2_BIN:-$root/.build/debug/vqvae2}
[[ -x "$bin" ]] || { echo "tensorboard_fixture.sh: no $bin; build it (swift build --product vqvae2) or set VQVAE2_BIN" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tiny_demo_data "$bin" "$work"
{ tiny_model_sections; cat <<YAML
data:
  manifest: $work/data/manifest.json
  codes_manifest: $work/codes/manifest.json
train:
  global_batch: 8
  steps: 4
  learning_rate: 1e-3
intervals:
  log_every: 1
  checkpoint_every: 2
  evaluate_every: 2
  pictures_every: 0
run:
  directory: $work/run
checkpoints:
  directory: $work/checkpoints
  keep: 3
YAML
} > "$work/tiny.yaml"
"$bin" train --config "$work/tiny.yaml" >/dev/null
# The crash this stands for came after step 4: the resumed run takes steps 3 and 4 again.
"$bin" train --config "$work/tiny.yaml" --resume "$work/checkpoints/step-00000002" >/dev/null
"$bin" train --config "$work/tiny.yaml" --resume auto >/dev/null
"$python" benchmarks/tensorboard_fixture.py read "$work/run"
echo "metrics.jsonl: $(grep -c '"kind":"train"' "$work/run/metrics.jsonl") train and $(grep -c '"kind":"eval"' "$work/run/metrics.jsonl") eval records"
