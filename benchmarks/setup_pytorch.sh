#!/usr/bin/env bash
# The newest PyTorch from PyPI in a virtual environment, for the extra columns of benchmarks/run.sh (issue 15).
# The wheel brings several GB of CUDA libraries, so it lives outside the repository and is never part of the test
# command. A second run only asks PyPI whether a newer torch exists.
#
#   benchmarks/setup_pytorch.sh
#   VQVAE2_TORCH_VENV=/somewhere/else benchmarks/setup_pytorch.sh
#   VQVAE2_TORCH_PYTHON=/path/to/python3.12 benchmarks/setup_pytorch.sh
set -euo pipefail

venv=${VQVAE2_TORCH_VENV:-$HOME/.cache/vqvae2/torch-venv}
# Any python3 with venv and ensurepip will do. One that is not Debian's comes first: Debian's has ensurepip only
# with python3-venv installed, and its interpreter changes under apt upgrades, which breaks the environment.
usable() { "$1" -c 'import venv, ensurepip' 2>/dev/null; }
python=${VQVAE2_TORCH_PYTHON:-}
if [[ -z "$python" ]]; then
  mapfile -t candidates < <(type -ap python3)
  for candidate in "${candidates[@]}"; do
    [[ "$(readlink -f "$candidate")" != /usr/bin/* ]] && usable "$candidate" && { python=$candidate; break; }
  done
  for candidate in "${candidates[@]}"; do
    [[ -z "$python" ]] && usable "$candidate" && python=$candidate
  done
fi
if [[ -z "$python" ]] || ! usable "$python"; then
  echo "setup_pytorch.sh: no python3 with venv and ensurepip found (set VQVAE2_TORCH_PYTHON)" >&2
  exit 1
fi

if [[ ! -x "$venv/bin/python" ]]; then
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
fi
# Without NumPy every import of torch warns that it failed to initialise NumPy.
"$venv/bin/python" -m pip install --quiet --upgrade torch numpy

# torch.compile (inductor) writes C++ and builds it with the compiler and the interpreter's headers at the first
# call; without them run.sh's compile column would only fail after the eager ones have run.
if ! "$venv/bin/python" - <<'PY'
import sys, torch

@torch.compile
def f(x):
    return torch.relu(x) * 2 + 1

x = torch.randn(64)
if not torch.allclose(f(x), torch.relu(x) * 2 + 1):
    sys.exit("compiled function gave a wrong result")
print(f"torch {torch.__version__} in {sys.prefix}: torch.compile works")
PY
then
  echo "setup_pytorch.sh: torch.compile does not work in $venv; it needs a C++ compiler (g++) and the Python headers" \
    "of $("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" >&2
  exit 1
fi
