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
#   --dry-run           print the mpirun command instead of running it
# Anything after "--mpi" up to "--" goes to mpirun unchanged: launch/mpirun.sh -n 2 --mpi --tag-output -- prog
#
# Every rank gets OPENBLAS_NUM_THREADS=1 (one rank per core; OpenBLAS threads would fight the other ranks) unless
# it is already set, the environment variables below passed through, and root is allowed (containers, CI).
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
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n|--np) np="$2"; shift 2 ;;
    --hostfile) hostfile="$2"; shift 2 ;;
    --bind) bind="$2"; shift 2 ;;
    --net) net="$2"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --mpi) shift; while [[ $# -gt 0 && "$1" != "--" ]]; do extra+=("$1"); shift; done; shift || true ;;
    --) shift; break ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "mpirun.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -gt 0 ]] || { echo "mpirun.sh: no program given (see --help)" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "mpirun.sh: mpirun not found; run launch/setup.sh (installs openmpi-bin)" >&2; exit 1; }

cores=$(nproc)
args=()
if [[ -n "$hostfile" ]]; then
  [[ -r "$hostfile" ]] || { echo "mpirun.sh: cannot read hostfile $hostfile" >&2; exit 2; }
  args+=(--hostfile "$hostfile")
  [[ -n "$np" ]] && args+=(-np "$np")
  bind=${bind:-none}
else
  np=${np:-$cores}
  args+=(-np "$np")
  if (( np > cores )); then
    args+=(--oversubscribe)
    bind=${bind:-none}
  fi
  bind=${bind:-core}
fi
case "$bind" in
  core) args+=(--bind-to core --map-by core) ;;
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
# glibc would otherwise hand large buffers back to the kernel every step and fault them in again.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-1073741824}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-1073741824}
for v in OPENBLAS_NUM_THREADS MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_ PATH LD_LIBRARY_PATH HDF5_USE_FILE_LOCKING; do
  [[ -n "${!v:-}" ]] && args+=(-x "$v")
done
while IFS='=' read -r name _; do args+=(-x "$name"); done < <(env | grep -E '^VQVAE2_[A-Za-z0-9_]*=' | grep -v '^VQVAE2_STOP_REPORT=' || true)

if (( dry )); then printf '%q ' mpirun "${args[@]}" "${extra[@]}" "$@"; echo; exit 0; fi

# Where rank 0 reports a stop on request (vqvae2 train writes it after the commit), and where a rank that leaves
# because of a failure leaves a note (VQVAE2_FAILURE_REPORT, one file per rank). Every rank of a multi-node job runs
# in this directory on a filesystem the nodes share, so the reports go there; on one machine /tmp will do.
if [[ -n "$hostfile" ]]; then report_dir=$(mktemp -d "$PWD/.vqvae2-launch.XXXXXX"); else report_dir=$(mktemp -d); fi
trap 'rm -rf "$report_dir"' EXIT
export VQVAE2_STOP_REPORT=${VQVAE2_STOP_REPORT:-$report_dir/stopped}
export VQVAE2_FAILURE_REPORT="$report_dir/failed"
mkdir "$VQVAE2_FAILURE_REPORT"
rm -f "$VQVAE2_STOP_REPORT"
cmd=(mpirun "${args[@]}" -x VQVAE2_STOP_REPORT -x VQVAE2_FAILURE_REPORT "${extra[@]}" "$@")
setsid "${cmd[@]}" < /dev/null &
mpirun_pid=$!
stopping=0
forward() {
  if (( stopping )); then
    # A second SIGTERM within 5 s is how mpirun is told to give up on a graceful end and terminate at once.
    kill -TERM "$mpirun_pid" 2>/dev/null || true
    sleep 0.2
    kill -TERM "$mpirun_pid" 2>/dev/null || true
    return
  fi
  stopping=1
  echo "mpirun.sh: stop requested; the ranks save a checkpoint at the next step boundary (again to stop at once)" >&2
  kill -USR1 "$mpirun_pid" 2>/dev/null || true
}
trap forward TERM INT
# Once a rank has left a failure note the job is over, but mpirun's daemons would still wait twice the sigkill
# timeout before ending it, relaying nothing meanwhile. Give mpirun a moment to relay what the ranks printed, then
# end it: the ranks are tied to their daemons and die with them (docs/DISTRIBUTED.md, "Failures").
ended=0
while kill -0 "$mpirun_pid" 2>/dev/null; do
  if compgen -G "$VQVAE2_FAILURE_REPORT/rank-*" >/dev/null; then
    { sleep 0.3; } 2>/dev/null
    kill -0 "$mpirun_pid" 2>/dev/null || break
    # Notes named rank-R.printed repeat what the rank printed itself; the others were written while mpirun no
    # longer relayed output.
    if compgen -G "$VQVAE2_FAILURE_REPORT/rank-*[0-9]" >/dev/null; then
      echo "mpirun.sh: the job failed; ending mpirun without waiting for its teardown:" >&2
      cat "$VQVAE2_FAILURE_REPORT"/rank-*[0-9] | sed 's/^/  /' >&2
    fi
    kill -KILL "$mpirun_pid" 2>/dev/null || true
    ended=1
    break
  fi
  { sleep 0.1; } 2>/dev/null
done
status=0
{ wait "$mpirun_pid"; } 2>/dev/null && status=0 || status=$?
# wait returns early when a trapped signal arrives; keep waiting until mpirun itself is gone.
while kill -0 "$mpirun_pid" 2>/dev/null; do wait "$mpirun_pid" && status=0 || status=$?; done
(( ended )) && status=1
if (( status != 0 )) && [[ -s "$VQVAE2_STOP_REPORT" ]]; then
  echo "mpirun.sh: mpirun exited with status $status after a stop signal, but the job ended cleanly:" \
    "$(cat "$VQVAE2_STOP_REPORT")" >&2
  status=0
fi
exit "$status"
