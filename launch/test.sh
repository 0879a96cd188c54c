#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs missing native libraries, builds, runs every test (the MPI tests
# start their own mpirun jobs, one at a time, through launch/mpirun.sh), and ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/setup.sh
export OPENBLAS_NUM_THREADS=1
swift build --build-tests
# XCTest runs the tests serially, so no two mpirun jobs ever share the two cores. The suite is XCTest only.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log" || status=$?
# XCTest writes "with N tests skipped and M failures" once a test is skipped (a variant the CPU lacks).
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" "$log" | tail -1 || true)
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*with ([0-9]+) tests? skipped.*/\1/;t;s/.*/0/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$summary")
if [[ -z "$summary" ]]; then
  echo "tests: no XCTest summary found (exit status $status)"
  exit $(( status == 0 ? 1 : status ))
fi
echo "tests: $((executed - failed - skipped)) passed, $failed failed ($skipped skipped)"
exit "$status"
