#!/usr/bin/env bash
# How fast failing jobs end (issue 19), measured at launch/mpirun.sh on a tiny model with 2 ranks:
#   - an error every rank finds at start-up (a global batch that does not split over the ranks): launcher wall time;
#   - kill -9 of one rank mid-run: from the kill to the launcher's exit, and any process of the job left after it;
#   - kill -9 of mpirun mid-run: how long the ranks outlive it, and checkpoints committed after the kill.
# The first two also run under bare mpirun (the command `launch/mpirun.sh --dry-run` prints, which has the same
# odls_base_sigkill_timeout but no launcher to end Open MPI's teardown): the reference column. Each case runs
# REPEATS times (default 3); the table shows the median and the range.
#
#   benchmarks/failure_times.sh
#   VQVAE2_SIGKILL_TIMEOUT=5 REPEATS=5 benchmarks/failure_times.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source benchmarks/tiny_model.sh
repeats=${REPEATS:-3}
swift build -c release --product vqvae2 >&2
bin=$root/.build/release/vqvae2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg), odls_base_sigkill_timeout ${VQVAE2_SIGKILL_TIMEOUT:-5} s" >&2

tiny_demo_data "$bin" "$work"
config() {  # a fresh config (unique path, so that its processes can be found) with its own checkpoint directory
  local name=$1
  { tiny_model_sections; cat <<YAML
data:
  manifest: $work/data/manifest.json
  codes_manifest: $work/codes/manifest.json
train:
  global_batch: 8
  steps: 1000000
  learning_rate: 1e-3
intervals:
  log_every: 1
  check_every: 0
  checkpoint_every: 2
  evaluate_every: 0
  pictures_every: 0
run:
  directory: $work/run-$name
checkpoints:
  directory: $work/checkpoints-$name
YAML
  } > "$work/$name.yaml"
  echo "$work/$name.yaml"
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
left() { pgrep -f -- "$1" | wc -l || true; }
newest() { ls "$1" 2>/dev/null | grep '^step-[0-9]*$' | sort | tail -1 || true; }
wait_for_step() { until grep -q "step $2/" "$1" 2>/dev/null; do sleep 0.05; done; }
summary() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { printf "%s (%s-%s)", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

bare() { eval "$(bash launch/mpirun.sh -n 2 --dry-run "$@")"; }
startup=() killed=() killed_left=() orphan=() late=() bare_startup=() bare_killed=()
for ((i = 0; i < repeats; i++)); do
  c=$(config "startup$i")
  t0=$(now)
  bash launch/mpirun.sh -n 2 "$bin" train --config "$c" --set train.global_batch=7 >"$work/startup$i.log" 2>&1 && exit 1
  startup+=("$(elapsed "$t0" "$(now)")")
  t0=$(now)
  bare "$bin" train --config "$c" --set train.global_batch=7 >"$work/bare-startup$i.log" 2>&1 && exit 1
  bare_startup+=("$(elapsed "$t0" "$(now)")")

  for how in launcher bare; do
    c=$(config "rank-$how$i")
    if [[ $how == launcher ]]; then
      bash launch/mpirun.sh -n 2 "$bin" train --config "$c" >"$work/rank-$how$i.log" 2>&1 &
    else
      bare "$bin" train --config "$c" >"$work/rank-$how$i.log" 2>&1 &
    fi
    launcher=$!
    wait_for_step "$work/rank-$how$i.log" 5
    victim=$(for p in $(pgrep -f -- "$bin train --config $c"); do
      tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && echo "$p"; done | head -1)
    t0=$(now)
    kill -9 "$victim"
    wait "$launcher" || true
    if [[ $how == launcher ]]; then
      killed+=("$(elapsed "$t0" "$(now)")")
      killed_left+=("$(left "$c")")
    else
      bare_killed+=("$(elapsed "$t0" "$(now)")")
    fi
  done

  c=$(config "mpirun$i")
  bash launch/mpirun.sh -n 2 "$bin" train --config "$c" >"$work/mpirun$i.log" 2>&1 &
  launcher=$!
  wait_for_step "$work/mpirun$i.log" 9
  t0=$(now)
  kill -9 "$(pgrep -P "$launcher" -x mpirun)"
  before=$(newest "$work/checkpoints-mpirun$i")
  while (( $(left "$c") > 0 )); do sleep 0.01; done
  orphan+=("$(elapsed "$t0" "$(now)")")
  wait "$launcher" || true
  sleep 3
  after=$(newest "$work/checkpoints-mpirun$i")
  late+=("$([[ "$before" == "$after" ]] && echo 0 || echo "1 ($before -> $after)")")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "| case | launch/mpirun.sh, median s (range) | bare mpirun, median s (range) | launcher / bare | notes |"
echo "|---|---:|---:|---:|---|"
echo "| error on every rank at start-up, to exit | $(echo "${startup[*]}" | summary) | $(echo "${bare_startup[*]}" | summary) | $(ratio "$(echo "${startup[*]}" | median)" "$(echo "${bare_startup[*]}" | median)") | target <= 2 s |"
echo "| kill -9 of one rank, to exit | $(echo "${killed[*]}" | summary) | $(echo "${bare_killed[*]}" | summary) | $(ratio "$(echo "${killed[*]}" | median)" "$(echo "${bare_killed[*]}" | median)") | target <= 5 s; processes left after the launcher's exit: ${killed_left[*]} |"
echo "| kill -9 of mpirun, until no rank is left | $(echo "${orphan[*]}" | summary) | | | checkpoints committed after the kill: ${late[*]} |"
