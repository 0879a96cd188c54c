#!/usr/bin/env bash
# Training steps of vqvae2 against the PyTorch reference (issue 9), measured one after the other in one run and
# printed as a Markdown table with ratios ours / PyTorch. Nothing runs concurrently (except the 2 ranks or 2 DDP
# processes of the distributed rows, which are the measurement).
#
#   benchmarks/run.sh                 # everything (about 15 minutes on the 2-core machine)
#   REPEATS=5 WARMUP=1 benchmarks/run.sh
#   SKIP_256=1 benchmarks/run.sh      # without the 256x256 rows
#   SKIP_SINGLE=1 benchmarks/run.sh   # only the 2-rank / DDP table
#
# The reference environment of docs/PERFORMANCE.md: one OpenBLAS thread (its busy-waiting threads would compete
# with the framework's), glibc told not to trim or mmap large buffers (otherwise it returns them to the kernel every
# step and faults them back in, and PyTorch runs 10-40% slower), PyTorch with one thread per process so that both
# sides are compared per core, and Debian's /usr/bin/python3, the interpreter python3-torch (PyTorch 1.13) belongs to.
set -euo pipefail
cd "$(dirname "$0")/.."

REPEATS=${REPEATS:-7}
WARMUP=${WARMUP:-2}
export OPENBLAS_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=1073741824
export MALLOC_TRIM_THRESHOLD_=1073741824
PY=/usr/bin/python3
BENCH=.build/release/vqvae2-bench
out=$(mktemp -d /tmp/vqvae2-run.XXXXXX)
trap 'rm -rf "$out"' EXIT

swift build -c release --product vqvae2-bench >&2
cc -O2 -mavx2 -mfma benchmarks/fma_peak.c -o "$out/fma_peak"

echo "# $(date -u +%FT%TZ) $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
peak=$("$out/fma_peak" 2>/dev/null)

# field NAME LINE: the value of NAME=... in a RESULT line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

ours() { "$BENCH" train --repeats "$REPEATS" --warmup "$WARMUP" "$@" | tee -a "$out/ours.log" | grep '^RESULT'; }
theirs() { "$PY" benchmarks/pytorch_reference.py --repeats "$REPEATS" --warmup "$WARMUP" "$@" | grep '^RESULT'; }

rows=()
# name | our args | PyTorch args
cases=(
  "VQ-VAE 64x64, batch 32|--part vqvae --size 64 --batch 32|--case vqvae --size 64 --batch 32"
  "VQ-VAE 32x32, batch 32|--part vqvae --size 32 --batch 32|--case vqvae --size 32 --batch 32"
  "top prior 8x8, batch 32|--part top --size 64 --batch 32|--case top --size 64 --batch 32"
  "bottom prior 16x16, batch 32|--part bottom --size 64 --batch 32|--case bottom --size 64 --batch 32"
  "joint 64x64, batch 32|--part joint --size 64 --batch 32|--case joint --size 64 --batch 32"
)
if [[ -z "${SKIP_256:-}" ]]; then
  cases+=(
    "VQ-VAE 256x256, batch 8|--part vqvae --size 256 --batch 8|--case vqvae --size 256 --batch 8"
    "joint 256x256, batch 4|--part joint --size 256 --batch 4|--case joint --size 256 --batch 4"
  )
fi

[[ -n "${SKIP_SINGLE:-}" ]] && cases=()
echo "| step | ours images/s | PyTorch images/s | ratio | ours GFLOP/s | % of FMA peak | outside sgemm | element-wise | ours MiB | PyTorch MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
first=1
for entry in "${cases[@]}"; do
  IFS='|' read -r name ourArgs torchArgs <<<"$entry"
  extra=()
  (( first )) && extra=(--peaks)
  # shellcheck disable=SC2086
  o=$(ours $ourArgs --sgemm-share "${extra[@]}")
  # shellcheck disable=SC2086
  t=$(theirs $torchArgs --threads 1)
  if (( first )); then
    sgemm=$(field sgemm_gflops "$o"); im2col=$(field sgemm_im2col_gflops "$o")
    params=$(grep '^parameters' "$out/ours.log" | head -1)
    firstTorch=$t
    first=0
  fi
  oi=$(field images_per_s "$o"); ti=$(field images_per_s "$t"); g=$(field gflops_per_rank "$o")
  printf '| %s | %s | %s | %.2f | %s | %.0f%% | %.0f%% | %.0f%% | %s | %s |\n' "$name" "$oi" "$ti" \
    "$(echo "$oi / $ti" | bc -l)" "$g" "$(echo "100 * $g / $peak" | bc -l)" \
    "$(echo "100 * $(field outside_sgemm "$o")" | bc -l)" "$(echo "100 * $(field elementwise "$o")" | bc -l)" \
    "$(field peak_rss_mb "$o")" "$(field peak_rss_mb "$t")"
done

# Two ranks / two DDP processes on the 64x64 VQ-VAE: 32 images per rank; PyTorch's 1-process row is global batch 64.
o1=$(ours --part vqvae --size 64 --batch 32)
o2=$(launch/mpirun.sh -n 2 "$BENCH" train --mpi --repeats "$REPEATS" --warmup "$WARMUP" --part vqvae --size 64 --batch 32 | grep '^RESULT')
oj1=$(ours --part joint --size 64 --batch 32)
oj2=$(launch/mpirun.sh -n 2 "$BENCH" train --mpi --repeats "$REPEATS" --warmup "$WARMUP" --part joint --size 64 --batch 32 | grep '^RESULT')
t1=$(theirs --case ddp --world 1 --size 64 --batch 64)
t2=$(theirs --case ddp --world 2 --size 64 --batch 64)
echo
echo "| 2 ranks, 64x64 | ours 1 rank | ours 2 ranks | speed-up | exposed comm. ms/step | PyTorch DDP 1 | DDP 2 | speed-up | ours 2 / DDP 2 | ours MiB/rank | DDP MiB/proc |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
a=$(field images_per_s "$o1"); b=$(field images_per_s "$o2"); c=$(field images_per_s "$t1"); d=$(field images_per_s "$t2")
printf '| VQ-VAE | %s | %s | %.2fx | %s | %s | %s | %.2fx | %.2f | %s | %s |\n' "$a" "$b" "$(echo "$b / $a" | bc -l)" \
  "$(field exposed_comm_ms "$o2")" "$c" "$d" "$(echo "$d / $c" | bc -l)" "$(echo "$b / $d" | bc -l)" \
  "$(field peak_rss_mb "$o2")" "$(field peak_rss_mb "$t2")"
a=$(field images_per_s "$oj1"); b=$(field images_per_s "$oj2")
printf '| joint | %s | %s | %.2fx | %s | | | | | %s | |\n' "$a" "$b" "$(echo "$b / $a" | bc -l)" \
  "$(field exposed_comm_ms "$oj2")" "$(field peak_rss_mb "$oj2")"

echo
echo "FMA-loop peak $peak GFLOP/s per core"
if [[ -z "${SKIP_SINGLE:-}" ]]; then
  echo "OpenBLAS sgemm 1024^3 $sgemm GFLOP/s, im2col-shaped (8192x128x1152) $im2col GFLOP/s"
  echo "ours: $params"
  read -r ov ot ob <<<"$(grep -o '[0-9]\+' <<<"${params#*:}" | tr '\n' ' ')"
  for pair in "vqvae $ov" "top $ot" "bottom $ob"; do
    read -r name mine <<<"$pair"
    torchCount=$(field "params_$name" "$firstTorch")
    verdict=MISMATCH; [[ "$torchCount" == "$mine" ]] && verdict=match
    echo "parameters $name: PyTorch $torchCount, vqvae2 $mine: $verdict"
  done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
