#!/usr/bin/env bash
# Training steps of vqvae2 against the PyTorch reference (issues 9 and 15), printed as Markdown tables: Debian's
# PyTorch 1.13 and the newest PyTorch from PyPI, eager and with torch.compile. Every cell is the median of ROUNDS
# interleaved runs (round 1: ours, 1.13, newest, newest + compile; round 2: the same order; ...), so that a
# slow phase of a shared machine lands on every column alike. Nothing runs concurrently (except the 2 ranks or
# 2 DDP processes of the distributed rows, which are the measurement).
#
#   benchmarks/setup_pytorch.sh       # once: the newest PyTorch in a virtual environment (several GB)
#   benchmarks/run.sh                 # everything (REPEATS=3 WARMUP=1 SKIP_256=1 took an hour on the loaded 2-core machine)
#   REPEATS=3 WARMUP=1 SKIP_256=1 benchmarks/run.sh
#   SKIP_SINGLE=1 benchmarks/run.sh   # only the 2-rank / DDP and thread tables
#   SKIP_PAIRS=1 benchmarks/run.sh    # only the one-core table
#   ROWS="0 1" SKIP_PAIRS=1 benchmarks/run.sh   # some rows of the one-core table (0-4 in the order below, 5-6 at 256 px)
#   SKIP_NEW_TORCH=1 benchmarks/run.sh  # PyTorch 1.13 only
#
# The reference environment of docs/PERFORMANCE.md: one OpenBLAS thread (its busy-waiting threads would compete
# with the framework's), glibc told not to trim or mmap large buffers (otherwise it returns them to the kernel every
# step and faults them back in, and PyTorch runs 10-40% slower), PyTorch with one thread per process so that both
# sides are compared per core, and Debian's /usr/bin/python3, the interpreter python3-torch (PyTorch 1.13) belongs to.
# Only the thread table's 2-thread processes get 2 OpenBLAS / OpenMP threads.
set -euo pipefail
cd "$(dirname "$0")/.."

REPEATS=${REPEATS:-7}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
export OPENBLAS_NUM_THREADS=1
export MALLOC_MMAP_THRESHOLD_=1073741824
export MALLOC_TRIM_THRESHOLD_=1073741824
PY=/usr/bin/python3
NEW_PY=${VQVAE2_TORCH_VENV:-$HOME/.cache/vqvae2/torch-venv}/bin/python
BENCH=.build/release/vqvae2-bench
out=$(mktemp -d /tmp/vqvae2-run.XXXXXX)
trap 'rm -rf "$out"' EXIT
# Inductor's cache starts empty, so that round 1's compile_s is a cold compilation and later rounds' a cached one,
# and nothing outlives the run.
export TORCHINDUCTOR_CACHE_DIR=$out/inductor

newTorch=1
if [[ -n "${SKIP_NEW_TORCH:-}" ]]; then
  newTorch=0
elif [[ ! -x "$NEW_PY" ]]; then
  echo "run.sh: no newest-PyTorch environment at $NEW_PY: create it with benchmarks/setup_pytorch.sh" \
    "(several GB; VQVAE2_TORCH_VENV moves it). Running the PyTorch 1.13 columns only." >&2
  newTorch=0
fi

swift build -c release --product vqvae2-bench >&2
cc -O2 -mavx2 -mfma benchmarks/fma_peak.c -o "$out/fma_peak"

echo "# $(date -u +%FT%TZ) $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
peak=$("$out/fma_peak" 2>/dev/null)
version() { "$1" -c 'import torch; print(torch.__version__)' 2>/dev/null; }
oldVersion=$(version "$PY")
newVersion=n/a
(( newTorch )) && newVersion=$(version "$NEW_PY")
threadsFlag=0
grep -q -- --threads <<<"$("$BENCH" train --help)" && threadsFlag=1

# field NAME LINE: the value of NAME=... in a RESULT line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

ours() { "$BENCH" train --repeats "$REPEATS" --warmup "$WARMUP" "$@" | tee -a "$out/ours.log" | grep '^RESULT'; }
theirs() { "$PY" benchmarks/pytorch_reference.py --repeats "$REPEATS" --warmup "$WARMUP" "$@" | grep '^RESULT'; }
newest() { "$NEW_PY" benchmarks/pytorch_reference.py --repeats "$REPEATS" --warmup "$WARMUP" "$@" | grep '^RESULT'; }

# record KEY COMMAND...: one run, its RESULT line appended to $out/KEY and echoed to stderr, so that a long run's
# raw results survive in its log whatever happens to the tables.
record() {
  local key=$1
  shift
  "$@" | tee -a "$out/$key" | sed "s/^/  $key: /" >&2
}
# median KEY: the RESULT line of the run with the median images/s (empty if KEY never ran).
median() {
  [[ -s "$out/$1" ]] || return 0
  local n
  n=$(wc -l <"$out/$1")
  awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^images_per_s=/) print substr($i, 14) "\t" $0 }' "$out/$1" \
    | sort -g | sed -n "$(( (n + 1) / 2 ))p" | cut -f2-
}
# images KEY / mib KEY: that median run's images/s and peak MiB, or n/a.
images() { local r; r=$(median "$1"); [[ -n "$r" ]] && field images_per_s "$r" || echo n/a; }
mib() { local r; r=$(median "$1"); [[ -n "$r" ]] && field peak_rss_mb "$r" || echo n/a; }
# ratio A B: A / B to 2 decimals, or n/a.
ratio() { [[ "$1" == n/a || "$2" == n/a ]] && echo n/a || printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
# best VALUE...: the highest that is not n/a.
best() { printf '%s\n' "$@" | grep -v '^n/a$' | sort -g | tail -1; }
# compiles KEY: every round's compile seconds, in round order.
compiles() { [[ -s "$out/$1" ]] && while read -r r; do field compile_s "$r"; done <"$out/$1" | paste -sd/ || echo n/a; }

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
if [[ -n "${ROWS:-}" ]]; then
  picked=()
  for i in $ROWS; do
    [[ $i =~ ^[0-9]+$ && $i -lt ${#cases[@]} ]] || { echo "run.sh: ROWS: no row $i (0-$(( ${#cases[@]} - 1 )))" >&2; exit 2; }
    picked+=("${cases[$i]}")
  done
  cases=("${picked[@]}")
fi

for ((round = 1; round <= ROUNDS; round++)); do
  for i in "${!cases[@]}"; do
    IFS='|' read -r name ourArgs torchArgs <<<"${cases[$i]}"
    echo "round $round: $name" >&2
    extra=()
    (( round == 1 && i == 0 )) && extra=(--peaks)
    # shellcheck disable=SC2086
    record "row$i.ours" ours $ourArgs --sgemm-share "${extra[@]}"
    # shellcheck disable=SC2086
    record "row$i.old" theirs $torchArgs --threads 1
    if (( newTorch )); then
      # shellcheck disable=SC2086
      record "row$i.new" newest $torchArgs --threads 1
      # shellcheck disable=SC2086
      record "row$i.compiled" newest $torchArgs --threads 1 --compile
    fi
  done
done

if (( ${#cases[@]} )); then
  echo "| step | ours images/s | PyTorch $oldVersion | $newVersion | $newVersion + compile | ours / best |" \
    "compile s (rounds) | ours GFLOP/s | % of FMA peak | outside sgemm | element-wise | ours MiB |" \
    "$oldVersion MiB | $newVersion MiB | + compile MiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
fi
for i in "${!cases[@]}"; do
  IFS='|' read -r name _ _ <<<"${cases[$i]}"
  o=$(median "row$i.ours")
  oi=$(field images_per_s "$o"); g=$(field gflops_per_rank "$o")
  old=$(images "row$i.old"); new=$(images "row$i.new"); compiled=$(images "row$i.compiled")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %.0f%% | %.0f%% | %.0f%% | %s | %s | %s | %s |\n' \
    "$name" "$oi" "$old" "$new" "$compiled" "$(ratio "$oi" "$(best "$old" "$new" "$compiled")")" \
    "$(compiles "row$i.compiled")" "$g" "$(echo "100 * $g / $peak" | bc -l)" \
    "$(echo "100 * $(field outside_sgemm "$o")" | bc -l)" "$(echo "100 * $(field elementwise "$o")" | bc -l)" \
    "$(field peak_rss_mb "$o")" "$(mib "row$i.old")" "$(mib "row$i.new")" "$(mib "row$i.compiled")"
done

if [[ -z "${SKIP_PAIRS:-}" ]]; then
  # Two ranks / two DDP processes on the 64x64 VQ-VAE: 32 images per rank; PyTorch's 1-process row is global batch 64.
  mpiOurs() { launch/mpirun.sh -n 2 "$BENCH" train --mpi --repeats "$REPEATS" --warmup "$WARMUP" "$@" | grep '^RESULT'; }
  for ((round = 1; round <= ROUNDS; round++)); do
    echo "round $round: 2 ranks / DDP" >&2
    record ddp.ours1 ours --part vqvae --size 64 --batch 32
    record ddp.ours2 mpiOurs --part vqvae --size 64 --batch 32
    record ddp.old1 theirs --case ddp --world 1 --size 64 --batch 64
    record ddp.old2 theirs --case ddp --world 2 --size 64 --batch 64
    if (( newTorch )); then
      record ddp.new1 newest --case ddp --world 1 --size 64 --batch 64
      record ddp.new2 newest --case ddp --world 2 --size 64 --batch 64
    fi
    record joint.ours1 ours --part joint --size 64 --batch 32
  done

  # Two cores as 1 rank x 2 threads or 2 ranks x 1 thread, the 64x64 joint step at global batch 64, against the
  # newest PyTorch with 2 intra-op threads (and 2 OpenBLAS / OpenMP threads in that process only). Ours with 2
  # threads keeps OpenBLAS at one (the pool splits the products); the row with OpenBLAS's own 2 threads instead is
  # the comparison training does not use (its results change with the thread count).
  oursThreads() {
    "$BENCH" train --repeats "$REPEATS" --warmup "$WARMUP" --threads 2 "$@" | grep '^RESULT'
  }
  oursBlasThreads() {
    env OPENBLAS_NUM_THREADS=2 "$BENCH" train --repeats "$REPEATS" --warmup "$WARMUP" --blas-threads 2 "$@" | grep '^RESULT'
  }
  newestThreads() {
    env OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 "$NEW_PY" benchmarks/pytorch_reference.py --repeats "$REPEATS" \
      --warmup "$WARMUP" --threads 2 "$@" | grep '^RESULT'
  }
  for ((round = 1; round <= ROUNDS; round++)); do
    echo "round $round: threads" >&2
    record joint.ours2 mpiOurs --part joint --size 64 --batch 32
    if (( threadsFlag )); then
      record threads.ours oursThreads --part joint --size 64 --batch 64
      record threads.blas oursBlasThreads --part joint --size 64 --batch 64
    fi
    if (( newTorch )); then record threads.new newestThreads --case joint --size 64 --batch 64; fi
  done
  echo
  echo "| 2 ranks, 64x64 | ours 1 rank | ours 2 ranks | speed-up | exposed comm. ms/step | DDP $oldVersion 1 | 2 |" \
    "speed-up | DDP $newVersion 1 | 2 | speed-up | ours 2 / best DDP 2 | ours MiB/rank | $oldVersion MiB/proc |" \
    "$newVersion MiB/proc |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  a=$(images ddp.ours1); b=$(images ddp.ours2)
  c=$(images ddp.old1); d=$(images ddp.old2); e=$(images ddp.new1); f=$(images ddp.new2)
  printf '| VQ-VAE | %s | %s | %sx | %s | %s | %s | %sx | %s | %s | %sx | %s | %s | %s | %s |\n' \
    "$a" "$b" "$(ratio "$b" "$a")" "$(field exposed_comm_ms "$(median ddp.ours2)")" "$c" "$d" "$(ratio "$d" "$c")" \
    "$e" "$f" "$(ratio "$f" "$e")" "$(ratio "$b" "$(best "$d" "$f")")" "$(mib ddp.ours2)" "$(mib ddp.old2)" \
    "$(mib ddp.new2)"
  a=$(images joint.ours1); b=$(images joint.ours2)
  printf '| joint | %s | %s | %sx | %s | | | | | | | | %s | | |\n' "$a" "$b" "$(ratio "$b" "$a")" \
    "$(field exposed_comm_ms "$(median joint.ours2)")" "$(mib joint.ours2)"

  echo
  echo "| joint 64x64, global batch 64, 2 cores | images/s | / ours 2 ranks x 1 thread | peak MiB (per process) |"
  echo "|---|---:|---:|---:|"
  r=$(images joint.ours2)
  printf '| ours, 2 ranks x 1 thread | %s | 1.00 | %s |\n' "$r" "$(mib joint.ours2)"
  if (( threadsFlag )); then
    t=$(images threads.ours)
    printf '| ours, 1 rank x 2 threads | %s | %s | %s |\n' "$t" "$(ratio "$t" "$r")" "$(mib threads.ours)"
    t=$(images threads.blas)
    printf '| ours, 1 rank x 1 thread with 2 OpenBLAS threads | %s | %s | %s |\n' "$t" "$(ratio "$t" "$r")" \
      "$(mib threads.blas)"
  else
    echo "| ours, 1 rank x 2 threads | n/a (no --threads yet) | | |"
  fi
  t=$(images threads.new)
  printf '| PyTorch %s, 1 process x 2 threads | %s | %s | %s |\n' "$newVersion" "$t" "$(ratio "$t" "$r")" \
    "$(mib threads.new)"
fi

echo
echo "PyTorch: $oldVersion ($PY), $newVersion ($NEW_PY); medians of $ROUNDS interleaved rounds," \
  "each run $WARMUP warm-up + $REPEATS timed steps"
vector=$(field vector "$(grep -m1 '^RESULT' "$out/ours.log")")
[[ -n "$vector" ]] && echo "ours: vector variant $vector"
echo "FMA-loop peak $peak GFLOP/s per core"
if (( ${#cases[@]} )); then
  peaks=$(grep -m1 'sgemm_gflops=' "$out/row0.ours")
  echo "OpenBLAS sgemm 1024^3 $(field sgemm_gflops "$peaks") GFLOP/s," \
    "im2col-shaped (8192x128x1152) $(field sgemm_im2col_gflops "$peaks") GFLOP/s"
  params=$(grep -m1 '^parameters' "$out/ours.log")
  echo "ours: $params"
  read -r ov ot ob <<<"$(grep -o '[0-9]\+' <<<"${params#*:}" | tr '\n' ' ')"
  for column in old new; do
    [[ -s "$out/row0.$column" ]] || continue
    r=$(head -1 "$out/row0.$column")
    for pair in "vqvae $ov" "top $ot" "bottom $ob"; do
      read -r name mine <<<"$pair"
      torchCount=$(field "params_$name" "$r")
      verdict=MISMATCH; [[ "$torchCount" == "$mine" ]] && verdict=match
      echo "parameters $name: PyTorch $(field torch "$r") $torchCount, vqvae2 $mine: $verdict"
    done
  done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
