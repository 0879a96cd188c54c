#!/usr/bin/env bash
# Training steps at the paper's scale (configs/imagenet256.yaml: 256 px, priors of 915 million parameters with
# ImageNet's 1,000 classes): step time, GFLOP/s and peak resident memory of each model and of the joint step, at
# batch 1 and 2 per rank (batch 1: one warm-up and two timed steps; batch 2: one step, which takes minutes),
# on one rank of 2 threads (this machine's 2 cores: one rank of the paper's models is all its 24 GB hold), and
# at batch 1 on one rank of 1 thread (docs/PERFORMANCE.md, "The paper's scale").
#
#   benchmarks/paper_scale.sh                      # every cell, one after another: about 75 minutes here
#   CELLS="joint:1 top:2" benchmarks/paper_scale.sh  # some cells: part:batch[:recompute[:threads]]
#   CELLS="vqvae:1:true:1 top:1:true:1 bottom:1:true:1 joint:1:true:1" benchmarks/paper_scale.sh  # one thread
#
# Each process builds the whole replica (the trainer's Replica holds all three models and their Adam state,
# whatever the schedule), so every cell holds the 14.6 GB of state (state_mb) and cells cannot share the 24 GB
# machine; peak_rss_mb minus state_mb is what the timed part adds (activations, workspace, the program). The cell
# with recompute false is the joint step keeping every activation (one step, no warm-up: it is there for its
# memory, which peaks in the first step).
# A cell of one thread leaves a core free, where a host full of one-thread ranks would not: beside it runs a
# one-thread neighbour (configs/imagenet64.yaml's joint step, over and over), so that the cell shares caches and
# memory bandwidth as such a rank would (two 15 GB ranks do not fit here). One step, without a warm-up.
# The environment is the launcher's (launch/mpirun.sh): one OpenBLAS thread, glibc told not to trim or mmap.
set -euo pipefail
cd "$(dirname "$0")/.."

export OPENBLAS_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=1073741824
export MALLOC_TRIM_THRESHOLD_=1073741824
swift build -c release --product vqvae2-bench >/dev/null
BENCH=.build/release/vqvae2-bench

DEFAULT_CELLS="joint:1 joint:1:false top:1 bottom:1 vqvae:1 vqvae:2 top:2 bottom:2 joint:2
  vqvae:1:true:1 top:1:true:1 bottom:1:true:1 joint:1:true:1"
neighbour=
trap '[[ -n $neighbour ]] && kill "$neighbour" 2>/dev/null' EXIT
for c in ${CELLS:-$DEFAULT_CELLS}; do
  IFS=: read -r part batch recompute threads <<<"$c"
  recompute=${recompute:-true}
  warmup=1 repeats=2
  [[ $recompute == false ]] && warmup=0 repeats=1
  # Minutes a step at batch 2: the first step's page faults are under 1% of it; one step, without a warm-up.
  [[ $batch == 2 && $part != vqvae ]] && warmup=0 repeats=1
  neighbour=
  if [[ ${threads:-2} == 1 ]]; then
    [[ $part != vqvae ]] && warmup=0 repeats=1
    "$BENCH" train --config configs/imagenet64.yaml --classes 1000 --part joint --batch 2 --warmup 0 \
      --repeats 1000000 --threads 1 --work "/tmp/vqvae2-paper-scale-neighbour" >/dev/null &
    neighbour=$!
  fi
  "$BENCH" train --config configs/imagenet256.yaml --classes 1000 --part "$part" --batch "$batch" --warmup "$warmup" \
    --repeats "$repeats" --recompute-gated-layers "$recompute" --threads "${threads:-2}" \
    --work "/tmp/vqvae2-paper-scale" | grep '^RESULT'
  if [[ -n $neighbour ]]; then kill "$neighbour"; wait "$neighbour" 2>/dev/null || true; neighbour=; fi
done
