#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs missing native libraries, builds, runs every test (the MPI tests
# start their own mpirun jobs, one at a time, through launch/mpirun.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/setup.sh
export OPENBLAS_NUM_THREADS=1
swift build --build-tests
# XCTest runs the tests serially, so no two mpirun jobs ever share the two cores.
swift test --skip-build
