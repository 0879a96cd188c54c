#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install native libraries, build, and run on 2 ranks.
# Today this is the installation check (`vqvae2 env`); it grows into the end-to-end demo as training lands.
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/setup.sh
swift build -c release --product vqvae2
bash launch/mpirun.sh -n 2 .build/release/vqvae2 env
