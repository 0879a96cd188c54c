#!/usr/bin/env bash
# Installs the native libraries vqvae2 builds on, and the quick start's Fashion-MNIST (Debian 12 packages); a no-op
# when they are all present.
#
#   launch/setup.sh           install what is missing (as root, or through sudo)
#   launch/setup.sh --check   only report what is missing; exit 1 if anything is
set -euo pipefail

packages=(
  openmpi-bin libopenmpi-dev   # mpirun and the MPI library (pkg-config ompi-c)
  libopenblas-dev              # sgemm (pkg-config openblas)
  libhdf5-dev hdf5-tools       # shards and checkpoints (pkg-config hdf5), h5dump for tests
  libpng-dev libjpeg-dev       # pictures out, JPEGs in
  zlib1g-dev                   # CRC-32 checksums of shards and checkpoints
  pkg-config                   # SwiftPM finds the libraries through it
  iproute2                     # "ip netns": launch/netns-cluster.sh and the multi-node test
  dataset-fashion-mnist        # the quick start's images: IDX files in /usr/share/datasets/fashion-mnist (31 MB)
)
# What SwiftPM asks pkg-config for, per library, to explain a broken install precisely.
pkgconfig_names=(ompi-c openblas hdf5 libpng libjpeg zlib)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  for name in "${pkgconfig_names[@]}"; do
    pkg-config --exists "$name" || { echo "setup: packages are installed but pkg-config cannot find '$name'" >&2; exit 1; }
  done
  exit 0
fi

if [[ "${1:-}" == "--check" ]]; then
  echo "setup: missing Debian packages: ${missing[*]}" >&2
  echo "setup: install them with: apt-get install ${missing[*]}   (or run launch/setup.sh)" >&2
  exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
