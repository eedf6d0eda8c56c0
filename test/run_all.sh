#!/usr/bin/env bash
# Runs every test suite of pg_ivmx, in order, and keeps going after a failure
# so that one run shows every failing suite:
#   lint        test/lint.sh: the C++ code is formatted as .clang-format says
#   unit        GoogleTest suite of the PostgreSQL-free core (CMake + ctest)
#   regress     test/run_regress.sh
#   isolation   test/run_isolation.sh
#   stress      test/stress/run.sh, if present and executable
#   suites/*    every executable test/suites/*.sh, in sorted order
# The database suites share one throwaway cluster (test/lib/cluster.sh); they
# find it through PGHOST/PGPORT/PGUSER and CLUSTER_DIR/CLUSTER_DATA/CLUSTER_LOG,
# with PostgreSQL 15's bin directory first on PATH.
# The last line printed is always "N passed, M failed" (counting suites); the
# exit status is non-zero when M > 0. Expects the extension to be installed
# (make install), as `make test` does.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_COLLATE=C
# shellcheck source=test/lib/cluster.sh
source test/lib/cluster.sh
export PGBIN PATH="$PGBIN:$PATH"

summary=()
passed=0
failed=0
cluster_up=false

# run_suite NAME COMMAND...: runs one suite and records its outcome.
run_suite() {
  local name=$1 start=$SECONDS
  shift
  echo
  echo "==================== suite: $name ===================="
  if "$@"; then
    passed=$((passed + 1))
    summary+=("PASS  $name ($((SECONDS - start)) s)")
  else
    failed=$((failed + 1))
    summary+=("FAIL  $name ($((SECONDS - start)) s)")
    echo "suite $name FAILED" >&2
  fi
}

unit_suite() {
  cmake -S . -B build && cmake --build build -j2 && (cd build && ctest --output-on-failure)
}

# Database suites run only against a live cluster; a server that a previous
# suite crashed for good is restarted first.
db_suite() {
  if ! $cluster_up; then
    echo "not run: the test cluster did not start" >&2
    return 1
  fi
  cluster_ensure_up || return 1
  "$@"
}

run_suite lint test/lint.sh
run_suite unit unit_suite

trap cluster_stop EXIT
echo
echo "==================== starting the test cluster ===================="
# shellcheck disable=SC2119  # no DIR: a fresh temporary one
if cluster_start; then cluster_up=true; fi

run_suite regress db_suite test/run_regress.sh
run_suite isolation db_suite test/run_isolation.sh
if [[ -x test/stress/run.sh ]]; then
  run_suite stress db_suite test/stress/run.sh
elif [[ -e test/stress/run.sh ]]; then
  echo "warning: test/stress/run.sh is not executable, skipped" >&2
fi
for suite in test/suites/*.sh; do
  [[ -x $suite ]] || continue
  run_suite "suites/$(basename "$suite" .sh)" db_suite "$suite"
done

cluster_stop
trap - EXIT

echo
echo "==================== summary ===================="
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
((failed == 0))
