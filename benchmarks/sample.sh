#!/usr/bin/env bash
# Sampling speed (issue 17): vqvae2's incremental sampler, the sampler it replaced (recompute) and the naive
# PyTorch sampler of the popular port (the whole network per position), end to end (top codes, bottom codes,
# decoding), on random weights, one after the other, printed as a Markdown table with ratios against the new one.
#
#   benchmarks/sample.sh              # every row (about 30 minutes on the 2-core machine)
#   SKIP_PAPER=1 benchmarks/sample.sh # without the paper-sized priors
#
# Rows: the demo priors at 32 and 64 pixels, every sampler in full; 256 pixels with the demo priors and with the
# paper's, the new sampler in full and the others over their first rows or positions, extrapolated (marked "ext.").
# The 2-rank row shares the batches of the new sampler over two ranks (launch/mpirun.sh). The environment is
# benchmarks/run.sh's: one OpenBLAS thread and one PyTorch thread per process, glibc kept from trimming.
set -euo pipefail
cd "$(dirname "$0")/.."

export OPENBLAS_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=1073741824
export MALLOC_TRIM_THRESHOLD_=1073741824
PY=/usr/bin/python3
BENCH=.build/release/vqvae2-bench
swift build -c release --product vqvae2-bench >&2
echo "# $(date -u +%FT%TZ) $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
ours() { "$BENCH" sample "$@" | tee -a /dev/stderr | grep '^RESULT'; }
naive() { "$PY" benchmarks/pytorch_reference.py --case sample --threads 1 "$@" | tee -a /dev/stderr | grep '^RESULT'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
label() { local r=$1; local s; s=$(field s_per_sample "$r"); [[ $(field extrapolated "$r") == yes ]] && echo "$s ext." || echo "$s"; }

echo "| row | new s/sample | new samples/s | new peak MiB | recompute s/sample | naive PyTorch s/sample | recompute / new | naive / new | recompute MiB | naive MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
row() {
  local name=$1 new=$2 old=$3 torch=$4
  # Ratios from samples/s, which RESULT prints with more digits than s/sample.
  local new_rate old_rate torch_rate
  new_rate=$(field samples_per_s "$new"); old_rate=$(field samples_per_s "$old"); torch_rate=$(field samples_per_s "$torch")
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" "$name" "$(field s_per_sample "$new")" "$new_rate" \
    "$(field peak_rss_mb "$new")" "$(label "$old")" "$(label "$torch")" "$(ratio "$new_rate" "$old_rate")" \
    "$(ratio "$new_rate" "$torch_rate")" "$(field peak_rss_mb "$old")" "$(field peak_rss_mb "$torch")"
}

for size in 32 64; do
  new=$(ours --size $size --priors demo --sampler incremental --batch 8 --batches 2)
  old=$(ours --size $size --priors demo --sampler recompute --batch 8 --batches 2)
  torch=$(naive --size $size --priors demo --batch 8)
  row "demo priors, ${size}x${size}, batch 8" "$new" "$old" "$torch"
done
new=$(ours --size 256 --priors demo --sampler incremental --batch 8)
old=$(ours --size 256 --priors demo --sampler recompute --batch 8 --rows 2)
torch=$(naive --size 256 --priors demo --batch 8 --positions 64)
row "demo priors, 256x256, batch 8" "$new" "$old" "$torch"
if [[ -z "${SKIP_PAPER:-}" ]]; then
  # The naive sampler at batch 2: each of its positions is a full forward of a 260M-parameter prior.
  new=$(ours --size 256 --priors paper --sampler incremental --batch 8)
  old=$(ours --size 256 --priors paper --sampler recompute --batch 8 --rows 2)
  torch=$(naive --size 256 --priors paper --batch 2 --positions 2)
  row "paper priors, 256x256, batch 8 (naive: 2)" "$new" "$old" "$torch"
fi

# Two ranks against one drawing the same samples, alternated in pairs (the shared machine's speed drifts between
# runs), long enough that the first batch's allocations do not weigh: median of the pairs' ratios.
echo
echo "| row | pairs: 1 rank samples/s, 2 ranks samples/s, ratio | median ratio |"
echo "|---|---|---:|"
for spec in "64 16" "256 4"; do
  set -- $spec
  size=$1 batches=$2
  pairs=() ratios=()
  for i in 1 2 3; do
    one=$(ours --size "$size" --priors demo --sampler incremental --batch 8 --batches "$batches")
    two=$(bash launch/mpirun.sh -n 2 "$BENCH" sample --mpi --size "$size" --priors demo --sampler incremental --batch 8 \
      --batches $((batches / 2)) | tee -a /dev/stderr | grep '^RESULT')
    r=$(ratio "$(field samples_per_s "$two")" "$(field samples_per_s "$one")")
    pairs+=("$(field samples_per_s "$one"), $(field samples_per_s "$two"), $r")
    ratios+=("$r")
  done
  median=$(printf "%s\n" "${ratios[@]}" | sort -n | sed -n 2p)
  echo "| demo priors, ${size}x${size}, $((8 * batches)) samples in batches of 8 | $(IFS=';'; echo "${pairs[*]}") | $median |"
done
