#!/usr/bin/env bash
# A small "cluster" of hosts on this machine, made of network namespaces, to try multi-node MPI launches (hostfile,
# a remote launch agent, MPI traffic over TCP between hosts) without a second machine. Needs root and iproute2.
#
#   launch/netns-cluster.sh up [-n HOSTS] [-s SLOTS]   create HOSTS (default 2) hosts, SLOTS ranks each (default 1)
#   launch/netns-cluster.sh run [mpirun.sh options] [--] PROGRAM [ARGS...]
#                                                    run PROGRAM under mpirun across the hosts, e.g.
#                                                    launch/netns-cluster.sh run -- .build/release/vqvae2 env
#   launch/netns-cluster.sh options                  print the launch/mpirun.sh options that reach the hosts
#   launch/netns-cluster.sh status                   list the hosts and their addresses; exit 1 if not up
#   launch/netns-cluster.sh down                     remove everything "up" made
#
# Layout: hosts NAME-h1..NAME-hN (namespaces) each have a loopback and an eth0 with address SUBNET.K/24; each eth0 is
# one end of a veth pair whose other end sits on a bridge in a namespace of its own (NAME-sw), the cluster's switch.
# Nothing is attached to this machine's own network namespace, so no address is added there and no packet can leave:
# the subnet only has to be unused inside the cluster. Each host also gets its own hostname (a UTS namespace made
# per command), so that programs see N different hosts.
#
# "up" writes, under DIR: a hostfile naming the hosts by address, and rsh-agent, the stand-in for ssh that Open MPI's
# rsh launcher calls as "rsh-agent [ssh options] HOST COMMAND..." (mpirun --mca plm_rsh_agent DIR/rsh-agent); it
# runs COMMAND with sh -c inside HOST's namespace, as sshd would run it in the remote user's shell.
# mpirun itself runs on the first host (it has to reach the others' addresses; this machine's namespace cannot).
#
# Environment: VQVAE2_NETNS_NAME (default vqvae2; at most 8 characters), VQVAE2_NETNS_SUBNET (first three octets of
# the /24, default 10.77.0), VQVAE2_NETNS_DIR (default /tmp/NAME-netns). Several clusters may coexist under
# different names and subnets.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=${VQVAE2_NETNS_NAME:-vqvae2}
subnet=${VQVAE2_NETNS_SUBNET:-10.77.0}
dir=${VQVAE2_NETNS_DIR:-/tmp/${name}-netns}
switch="${name}-sw"

die() { echo "netns-cluster: $*" >&2; exit 1; }
usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }

[[ "$name" =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "VQVAE2_NETNS_NAME must be 1-8 lower-case letters and digits (got '$name')"
[[ "$subnet" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "VQVAE2_NETNS_SUBNET must be three octets such as 10.77.0 (got '$subnet')"

need_tools() {
  command -v ip >/dev/null || die "'ip' not found: install iproute2 (launch/setup.sh does)"
  command -v unshare >/dev/null || die "'unshare' not found: install util-linux"
  [[ $(id -u) -eq 0 ]] || die "network namespaces need root (run as root or through sudo)"
}

# The hosts that exist now, in order (NAME-h1 ...).
existing_hosts() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${name}-h[0-9]+$" | sort -V || true; }

cluster_ok() {
  # Up means: the files exist, every host in the hostfile has its namespace and its address, and the switch exists.
  [[ -r "$dir/hostfile" && -x "$dir/rsh-agent" && -r "$dir/hosts" ]] || return 1
  ip netns list | awk '{print $1}' | grep -qx "$switch" || return 1
  local host address
  while read -r host address; do
    ip -n "$host" -br addr show dev eth0 2>/dev/null | grep -q "$address/24" || return 1
  done < "$dir/hosts"
}

down() {
  local ns
  for ns in $(existing_hosts) $(ip netns list 2>/dev/null | awk '{print $1}' | grep -x "$switch" || true); do
    # Deleting a namespace deletes its veth ends, and with them their peers on the switch.
    ip netns del "$ns"
  done
  rm -rf "$dir"
}

write_agent() {
  {
    cat <<'EOF'
#!/usr/bin/env bash
# Stand-in for ssh, written by launch/netns-cluster.sh: Open MPI's rsh launcher calls it as
# "rsh-agent [ssh options] HOST COMMAND..." to start its daemon (orted) on HOST. HOST (an address from the hostfile,
# or the host's name) maps to a network namespace; COMMAND's words are joined with spaces and run by sh -c there, as
# sshd would. The environment goes through unchanged (ip netns exec keeps it), unlike real ssh.
set -euo pipefail
# Skip ssh options (plm_rsh_args, or "-x" that Open MPI adds for agents named ssh); these take a value.
while [[ $# -gt 0 && "$1" == -* ]]; do
  case "$1" in
    -[bcDEeFIiJLlmOopQRSWw]) shift 2 ;;
    *) shift ;;
  esac
done
[[ $# -ge 2 ]] || { echo "rsh-agent: usage: rsh-agent [options] HOST COMMAND..." >&2; exit 255; }
host=$1; shift
case "$host" in
EOF
    local h address
    while read -r h address; do
      printf '  %s|%s|%s) ns=%s ;;\n' "$address" "$h" "${h#"${name}"-}" "$h"
    done < "$dir/hosts"
    cat <<'EOF'
  *) echo "rsh-agent: unknown host $host (not in this namespace cluster)" >&2; exit 255 ;;
esac
# A UTS namespace of its own per command so that the host has its own hostname, like a real node.
exec ip netns exec "$ns" unshare --uts sh -c 'hostname "$0" && exec sh -c "$1"' "$ns" "$*"
EOF
  } > "$dir/rsh-agent.tmp"
  chmod 755 "$dir/rsh-agent.tmp"
  mv "$dir/rsh-agent.tmp" "$dir/rsh-agent"
}

up() {
  local hosts=2 slots=1 k ns
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -n) hosts="$2"; shift 2 ;;
      -s) slots="$2"; shift 2 ;;
      *) die "up: unknown option $1" ;;
    esac
  done
  [[ "$hosts" =~ ^[0-9]+$ ]] && (( hosts >= 1 && hosts <= 250 )) || die "up: -n wants 1-250 hosts"
  [[ "$slots" =~ ^[0-9]+$ ]] && (( slots >= 1 )) || die "up: -s wants a positive number of slots"
  need_tools

  # Idempotent: an intact cluster of the same size is kept (files rewritten); anything else is rebuilt from scratch.
  if ! cluster_ok || [[ $(wc -l < "$dir/hosts") -ne $hosts ]]; then
    down
    mkdir -p "$dir"
    ip netns add "$switch"
    ip -n "$switch" link add br0 type bridge
    ip -n "$switch" link set br0 up
    for (( k = 1; k <= hosts; k++ )); do
      ns="${name}-h$k"
      ip netns add "$ns" || { down; die "up: cannot create network namespace $ns"; }
      ip -n "$ns" link set lo up
      # Created inside the host's namespace with the peer born on the switch: no name ever appears on this machine.
      ip -n "$ns" link add eth0 type veth peer name "h$k" netns "$switch"
      ip -n "$switch" link set "h$k" master br0 up
      ip -n "$ns" addr add "$subnet.$k/24" dev eth0
      ip -n "$ns" link set eth0 up
    done
  fi
  : > "$dir/hosts.tmp"; : > "$dir/hostfile.tmp"
  for (( k = 1; k <= hosts; k++ )); do
    echo "${name}-h$k $subnet.$k" >> "$dir/hosts.tmp"
    echo "$subnet.$k slots=$slots" >> "$dir/hostfile.tmp"
  done
  mv "$dir/hosts.tmp" "$dir/hosts"; mv "$dir/hostfile.tmp" "$dir/hostfile"
  write_agent
  # The bridge needs a moment to forward (STP off by default, but the ports come up asynchronously).
  wait_reachable
  echo "netns-cluster: $hosts hosts up (${name}-h1..${name}-h$hosts at $subnet.1-$subnet.$hosts), hostfile $dir/hostfile"
  echo "run a job across them:  $0 run -- PROGRAM [ARGS...]"
  echo "or by hand, from the first host:"
  echo "  ip netns exec ${name}-h1 $here/mpirun.sh $(options | tr "\n" " ")PROGRAM [ARGS...]"
}

# Every host answers on TCP from the first one (bash's /dev/tcp to a closed port fails at once with "refused" once
# the path works; a timeout means the link is not forwarding yet).
wait_reachable() {
  local address tries reply
  while read -r _ address; do
    for (( tries = 0; tries < 50; tries++ )); do
      reply=$(ip netns exec "${name}-h1" timeout 1 bash -c "exec 3<>/dev/tcp/$address/9" 2>&1 || true)
      [[ "$reply" == *refused* ]] && break
      sleep 0.1
    done
    (( tries < 50 )) || die "up: $address does not answer from ${name}-h1"
  done < "$dir/hosts"
}

# The launch/mpirun.sh options for this cluster, one per line.
options() {
  # --bind none: the hosts share this machine's cores, and every "host" would otherwise pin its first rank to core 0.
  # --net: Open MPI's out-of-band channel and its TCP transport use only the cluster's subnet (also loopback is
  # excluded, which matters on real nodes with several interfaces).
  # Shared memory (vader) stays enabled: Open MPI uses it only between ranks it places on the same host (same
  # hostfile entry), so ranks on different hosts talk TCP, as they would on separate machines.
  printf '%s\n' --hostfile "$dir/hostfile" --net "$subnet.0/24" --bind none --mpi --mca plm_rsh_agent "$dir/rsh-agent" --
}

run() {
  need_tools
  cluster_ok || die "run: the cluster is not up (run: $0 up)"
  local opts
  mapfile -t opts < <(options)
  # mpirun starts on the first host, with that host's hostname like the others.
  exec ip netns exec "${name}-h1" unshare --uts bash -c 'hostname "$0" && exec "$@"' "${name}-h1" \
    bash "$here/mpirun.sh" "${opts[@]}" "$@"
}

status() {
  cluster_ok || { echo "netns-cluster: not up (name $name, directory $dir)"; return 1; }
  local host address
  while read -r host address; do echo "$host $address"; done < "$dir/hosts"
  echo "hostfile $dir/hostfile"
  echo "agent $dir/rsh-agent"
}

command=${1:-}
[[ $# -gt 0 ]] && shift
case "$command" in
  up) up "$@" ;;
  down) need_tools; down; echo "netns-cluster: down" ;;
  run) run "$@" ;;
  options) cluster_ok || die "options: the cluster is not up"; options ;;
  status) status ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
