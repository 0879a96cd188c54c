#!/usr/bin/env bash
# Starts a program on N MPI ranks, on this machine or on the nodes of a hostfile, with the settings vqvae2 needs.
#
#   launch/mpirun.sh -n 2 .build/release/vqvae2 env
#   launch/mpirun.sh -n 8 --hostfile launch/hostfile .build/release/vqvae2 train --config configs/demo.yaml
#
# Options (before the program):
#   -n, --np N          number of ranks (default: one per core on this machine, or the hostfile's slots)
#   --hostfile FILE     run on the hosts listed in FILE (Open MPI format: "host slots=K" per line)
#   --bind core|none    pin each rank to a core (default on one machine when N <= cores) or not (default with a
#                       hostfile, since "hosts" that share a machine, e.g. network namespaces, would all pin to
#                       core 0, and with more ranks than cores)
#   --net CIDR          restrict MPI's TCP traffic to this subnet (e.g. 10.10.0.0/24) when hosts have several
#   --threads-per-rank N
#                       give each rank N cores (Open MPI's --map-by slot:PE=N --bind-to core) for a program whose
#                       config sets distributed.threads_per_rank N (default 1; the program checks that they agree);
#                       with more ranks x threads than cores, or with --bind none, nothing is pinned
#   --max-restarts N    after a failed job, start it again from its last checkpoint, up to N times (default 0);
#                       the program must resume (--resume auto). Exit status 2 (bad input: a config error, data or
#                       a checkpoint that does not fit) and 64 (a usage error) are never retried, nor is a job
#                       stopped by a signal to this script. Each restart is logged with its cause, and the ranks get
#                       VQVAE2_RESTART_COUNT and VQVAE2_RESTART_CAUSE.
#   --min-ranks M       with --hostfile, hosts whose ranks all died, or that no longer answer, are left out of the
#                       restart and the job continues on fewer ranks (each keeping its micro-batch: the program
#                       multiplies train.micro_batches by first/now ranks, from VQVAE2_FIRST_WORLD_SIZE); below M
#                       ranks the job ends instead (default 1). A host that comes back is not taken in again.
#   --dry-run           print the mpirun command instead of running it
# Anything after "--mpi" up to "--" goes to mpirun unchanged: launch/mpirun.sh -n 2 --mpi --tag-output -- prog
#
# Every rank gets OPENBLAS_NUM_THREADS=1 (a rank's own threads split its matrix products, and OpenBLAS threads would
# fight them and the other ranks) unless it is already set, VQVAE2_THREADS_PER_RANK, the environment variables
# below passed through, and root is allowed (containers, CI).
#
# Preemption: SIGTERM or SIGINT to this script (Ctrl-C, a batch scheduler) is passed on to the ranks as SIGUSR1,
# which mpirun forwards untouched, so that they agree at the next step boundary, write a checkpoint and exit 0;
# a second SIGTERM or SIGINT stops the job at once. mpirun runs in its own session so that Ctrl-C reaches only
# this script. SIGTERM or SIGINT sent to mpirun itself also ends in a checkpoint: Open MPI 4.1 sends the ranks
# SIGCONT, then SIGTERM odls_base_sigkill_timeout seconds later, then SIGKILL as long after that; the ranks start
# saving at the SIGCONT, this script sets that timeout to VQVAE2_SIGKILL_TIMEOUT (default 5 s; twice it must cover
# one step and one checkpoint save) and exits 0 when rank 0 reports the committed checkpoint, although mpirun
# itself exits 1 after such a signal.
#
# Failures: a rank that fails, or finds a peer gone, leaves a note in VQVAE2_FAILURE_REPORT; this script then ends
# mpirun at once instead of waiting out its teardown (twice the timeout), prints what the ranks could not, and
# exits 1. The ranks die with mpirun and its daemons. docs/DISTRIBUTED.md has the details.
set -euo pipefail

np=""
hostfile=""
bind=""
net=""
dry=0
max_restarts=0
min_ranks=1
threads=1
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n|--np) np="$2"; shift 2 ;;
    --hostfile) hostfile="$2"; shift 2 ;;
    --bind) bind="$2"; shift 2 ;;
    --net) net="$2"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --max-restarts) max_restarts="$2"; shift 2 ;;
    --min-ranks) min_ranks="$2"; shift 2 ;;
    --threads-per-rank) threads="$2"; shift 2 ;;
    --mpi) shift; while [[ $# -gt 0 && "$1" != "--" ]]; do extra+=("$1"); shift; done; shift || true ;;
    --) shift; break ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "mpirun.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -gt 0 ]] || { echo "mpirun.sh: no program given (see --help)" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "mpirun.sh: mpirun not found; run launch/setup.sh (installs openmpi-bin)" >&2; exit 1; }
for n in "$max_restarts" "$min_ranks"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "mpirun.sh: --max-restarts and --min-ranks take a whole number, not '$n'" >&2; exit 2; }
done
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "mpirun.sh: --threads-per-rank takes a whole number >= 1, not '$threads'" >&2; exit 2; }
if (( max_restarts > 0 )); then
  resumes=0
  prev=""
  for a in "$@"; do
    [[ "$prev" == --resume && "$a" == auto || "$a" == --resume=auto ]] && resumes=1
    prev=$a
  done
  (( resumes )) || { echo "mpirun.sh: --max-restarts needs a program that resumes from its last checkpoint: add --resume auto to its arguments" >&2; exit 2; }
fi

cores=$(nproc)
args=()
if [[ -n "$hostfile" ]]; then
  [[ -r "$hostfile" ]] || { echo "mpirun.sh: cannot read hostfile $hostfile" >&2; exit 2; }
  bind=${bind:-none}
else
  np=${np:-$(( cores / threads > 0 ? cores / threads : 1 ))}
  args+=(-np "$np")
  if (( np * threads > cores )); then
    args+=(--oversubscribe)
    bind=${bind:-none}
  fi
  bind=${bind:-core}
fi
case "$bind" in
  core) if (( threads > 1 )); then args+=(--map-by "slot:PE=$threads" --bind-to core); else args+=(--bind-to core --map-by core); fi ;;
  none) args+=(--bind-to none) ;;
  *) echo "mpirun.sh: --bind must be core or none" >&2; exit 2 ;;
esac
[[ $(id -u) -eq 0 ]] && args+=(--allow-run-as-root)
[[ -n "$net" ]] && args+=(--mca btl_tcp_if_include "$net" --mca oob_tcp_if_include "$net")
sigkill_timeout=${VQVAE2_SIGKILL_TIMEOUT:-5}
if ! [[ "$sigkill_timeout" =~ ^[1-9][0-9]*$ ]]; then
  echo "mpirun.sh: VQVAE2_SIGKILL_TIMEOUT must be a whole number of seconds >= 1, not '$sigkill_timeout'" >&2
  exit 2
fi
args+=(--mca odls_base_sigkill_timeout "$sigkill_timeout")

export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export VQVAE2_THREADS_PER_RANK=$threads
# glibc would otherwise hand large buffers back to the kernel every step and fault them in again.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-1073741824}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-1073741824}
for v in OPENBLAS_NUM_THREADS MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_ PATH LD_LIBRARY_PATH HDF5_USE_FILE_LOCKING; do
  [[ -n "${!v:-}" ]] && args+=(-x "$v")
done
while IFS='=' read -r name _; do args+=(-x "$name"); done < <(env | grep -E '^VQVAE2_[A-Za-z0-9_]*=' | grep -v '^VQVAE2_STOP_REPORT=' || true)

# The hosts of the hostfile and their slots, in order; a restart may leave some out.
hosts=() slots=()
if [[ -n "$hostfile" ]]; then
  while read -r host rest; do
    [[ -z "$host" || "$host" == \#* ]] && continue
    k=$(sed -n 's/.*slots=\([0-9]*\).*/\1/p' <<<"$rest")
    hosts+=("$host") slots+=("${k:-1}")
  done < "$hostfile"
  (( ${#hosts[@]} > 0 )) || { echo "mpirun.sh: no hosts in $hostfile" >&2; exit 2; }
fi
# The ranks of the first attempt: with a hostfile, -n or every slot.
total_slots() { local t=0 k; for k in "${slots[@]}"; do t=$((t + k)); done; echo "$t"; }
if [[ -n "$hostfile" ]]; then
  world=${np:-$(total_slots)}
else
  world=$np
fi
first_world=$world

# The hosts and the rank count of one attempt, in the array attempt.
attempt_hosts() {
  attempt=()
  if [[ -n "$hostfile" ]]; then
    local current="$report_dir/hostfile" i
    : > "$current"
    for i in "${!hosts[@]}"; do echo "${hosts[$i]} slots=${slots[$i]}" >> "$current"; done
    attempt=(--hostfile "$current" -np "$world")
  fi
}

if (( dry )); then
  dry_hosts=()
  [[ -n "$hostfile" ]] && dry_hosts=(--hostfile "$hostfile" -np "$world")
  printf '%q ' mpirun "${dry_hosts[@]}" "${args[@]}" "${extra[@]}" "$@"; echo; exit 0
fi

# Where rank 0 reports a stop on request (vqvae2 train writes it after the commit), where a rank that leaves
# because of a failure leaves a note (VQVAE2_FAILURE_REPORT, one file per rank), and where each rank says which host
# it runs on (VQVAE2_RANKS_REPORT). Every rank of a multi-node job runs in this directory on a filesystem the nodes
# share, so the reports go there; on one machine /tmp will do.
if [[ -n "$hostfile" ]]; then report_dir=$(mktemp -d "$PWD/.vqvae2-launch.XXXXXX"); else report_dir=$(mktemp -d); fi
trap 'rm -rf "$report_dir"' EXIT
export VQVAE2_STOP_REPORT=${VQVAE2_STOP_REPORT:-$report_dir/stopped}
export VQVAE2_FAILURE_REPORT="$report_dir/failed"
export VQVAE2_RANKS_REPORT="$report_dir/ranks"
export VQVAE2_FIRST_WORLD_SIZE=$first_world
export VQVAE2_RESTART_COUNT=0 VQVAE2_RESTART_CAUSE=none
stopping=0
mpirun_pid=""
forward() {
  if (( stopping )); then
    # A second SIGTERM within 5 s is how mpirun is told to give up on a graceful end and terminate at once.
    kill -TERM "$mpirun_pid" 2>/dev/null || true
    sleep 0.2
    kill -TERM "$mpirun_pid" 2>/dev/null || true
    return
  fi
  stopping=1
  echo "mpirun.sh: stop requested; the ranks stop together (train saves a checkpoint at the next step boundary; again to stop at once)" >&2
  [[ -n "$mpirun_pid" ]] && kill -USR1 "$mpirun_pid" 2>/dev/null || true
}
trap forward TERM INT

# The failure notes written so far, in one line.
notes() { (cd "$VQVAE2_FAILURE_REPORT" && ls | grep -v '\.tmp$' | tr '\n' ' ') || true; }

# Runs the job once; sets status, and cause when it failed.
run_once() {
  rm -rf "$VQVAE2_FAILURE_REPORT" "$VQVAE2_RANKS_REPORT" "$VQVAE2_STOP_REPORT"
  mkdir "$VQVAE2_FAILURE_REPORT" "$VQVAE2_RANKS_REPORT"
  local cmd
  attempt_hosts
  cmd=(mpirun "${attempt[@]}" "${args[@]}" -x VQVAE2_STOP_REPORT -x VQVAE2_FAILURE_REPORT -x VQVAE2_RANKS_REPORT
    -x VQVAE2_FIRST_WORLD_SIZE -x VQVAE2_RESTART_COUNT -x VQVAE2_RESTART_CAUSE "${extra[@]}" "$@")
  setsid "${cmd[@]}" < /dev/null &
  mpirun_pid=$!
  # Once a rank has left a failure note the job is over, but mpirun's daemons would still wait twice the sigkill
  # timeout before ending it, relaying nothing meanwhile. Give mpirun a moment to relay what the ranks printed
  # (and, when hosts may be left out, the other survivors time to write their notes), then end it: the ranks are
  # tied to their daemons and die with them (docs/DISTRIBUTED.md, "Failures").
  local ended=0 notes="" settled=0
  while kill -0 "$mpirun_pid" 2>/dev/null; do
    local now_notes
    now_notes=$(notes)
    if [[ -n "$now_notes" ]]; then
      if [[ "$now_notes" != "$notes" ]]; then notes=$now_notes settled=0; else settled=$((settled + 1)); fi
      # 0.3 s without a new note; 1 s before hosts are left out.
      if (( settled >= 3 && (max_restarts == 0 || ${#hosts[@]} == 0 || settled >= 10) )); then
        kill -0 "$mpirun_pid" 2>/dev/null || break
        # Notes named *.printed repeat what the rank printed itself; the others were written while mpirun no
        # longer relayed output.
        local unprinted
        unprinted=$(cd "$VQVAE2_FAILURE_REPORT" && ls | grep -v '\.printed$\|\.tmp$' || true)
        if [[ -n "$unprinted" ]]; then
          echo "mpirun.sh: the job failed; ending mpirun without waiting for its teardown:" >&2
          (cd "$VQVAE2_FAILURE_REPORT" && cat $unprinted) | sed 's/^status [0-9]*: //; s/^/  /' >&2
        fi
        kill -KILL "$mpirun_pid" 2>/dev/null || true
        ended=1
        break
      fi
    fi
    { sleep 0.1; } 2>/dev/null
  done
  status=0
  { wait "$mpirun_pid"; } 2>/dev/null && status=0 || status=$?
  # wait returns early when a trapped signal arrives; keep waiting until mpirun itself is gone.
  while kill -0 "$mpirun_pid" 2>/dev/null; do wait "$mpirun_pid" && status=0 || status=$?; done
  if (( ended )); then
    status=1
    # Errors every rank met carry the status the ranks exited with (2: bad input).
    if compgen -G "$VQVAE2_FAILURE_REPORT/agreed*" >/dev/null; then
      status=$(sed -n 's/^status \([0-9]*\):.*/\1/p' "$VQVAE2_FAILURE_REPORT"/agreed* | head -1 || true)
      status=${status:-1}
    fi
  fi
  if (( status != 0 )) && [[ -s "$VQVAE2_STOP_REPORT" ]]; then
    echo "mpirun.sh: mpirun exited with status $status after a stop signal, but the job ended cleanly:" \
      "$(cat "$VQVAE2_STOP_REPORT")" >&2
    status=0
  fi
  cause="mpirun exited with status $status"
  local first
  first=$(notes | tr ' ' '\n' | grep . | head -1 || true)
  [[ -n "$first" ]] && cause=$(head -1 "$VQVAE2_FAILURE_REPORT/$first" | sed 's/^status [0-9]*: //')
  return 0
}

# With a hostfile, after a failure that was not shared by every rank: leaves out the hosts whose ranks all died
# (they left no note, where the survivors did) and those that no longer answer the launch agent (ssh, or the one
# given with --mca plm_rsh_agent). Sets world to the ranks that remain.
leave_out_lost_hosts() {
  local agent=ssh i j
  for ((i = 0; i < ${#extra[@]} - 2; i++)); do
    [[ "${extra[$i]}" == --mca && "${extra[$((i + 1))]}" == plm_rsh_agent ]] && agent=${extra[$((i + 2))]}
  done
  local agent_cmd=("$agent")
  [[ "$agent" == ssh ]] && agent_cmd+=(-o BatchMode=yes -o ConnectTimeout=5)
  local dead_hosts=" "
  if ! compgen -G "$VQVAE2_FAILURE_REPORT/agreed*" >/dev/null; then
    local r
    for ((r = 0; r < world; r++)); do
      [[ -e "$VQVAE2_FAILURE_REPORT/rank-$r" || -e "$VQVAE2_FAILURE_REPORT/rank-$r.printed" ]] && continue
      [[ -r "$VQVAE2_RANKS_REPORT/rank-$r" ]] && dead_hosts+="$(cat "$VQVAE2_RANKS_REPORT/rank-$r") "
    done
  fi
  local kept_hosts=() kept_slots=() name
  for i in "${!hosts[@]}"; do
    if ! name=$(timeout 15 "${agent_cmd[@]}" "${hosts[$i]}" hostname 2>/dev/null) || [[ -z "$name" ]]; then
      echo "mpirun.sh: leaving out host ${hosts[$i]}: it does not answer ($agent)" >&2
      continue
    fi
    # A host with a live rank keeps its place, even if another of its ranks died.
    local live=0
    for j in "$VQVAE2_RANKS_REPORT"/rank-*; do
      [[ -r "$j" && "$(cat "$j")" == "$name" ]] || continue
      r=${j##*/rank-}
      [[ -e "$VQVAE2_FAILURE_REPORT/rank-$r" || -e "$VQVAE2_FAILURE_REPORT/rank-$r.printed" ]] && live=1
    done
    if [[ "$dead_hosts" == *" $name "* ]] && (( ! live )); then
      echo "mpirun.sh: leaving out host ${hosts[$i]} ($name): every rank it ran died" >&2
      continue
    fi
    kept_hosts+=("${hosts[$i]}") kept_slots+=("${slots[$i]}")
  done
  hosts=("${kept_hosts[@]}") slots=("${kept_slots[@]}")
  local available
  available=$(total_slots)
  (( available < world )) && world=$available
  return 0
}

restarts=0
while true; do
  run_once "$@"
  (( status == 0 || stopping )) && exit "$status"
  if (( status == 2 || status == 64 )); then
    (( max_restarts > 0 )) && echo "mpirun.sh: not restarting: exit status $status means bad input, which a restart cannot mend" >&2
    exit "$status"
  fi
  (( restarts < max_restarts )) || exit "$status"
  before=$world
  [[ -n "$hostfile" ]] && leave_out_lost_hosts
  if (( world < min_ranks || world == 0 )); then
    echo "mpirun.sh: not restarting: $world rank(s) left, fewer than --min-ranks $min_ranks" >&2
    exit "$status"
  fi
  restarts=$((restarts + 1))
  export VQVAE2_RESTART_COUNT=$restarts VQVAE2_RESTART_CAUSE="$cause"
  echo "mpirun.sh: restart $restarts of $max_restarts at $world rank(s) (was $before) after: $cause" >&2
  (( stopping )) && exit "$status"
done
