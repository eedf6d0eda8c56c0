#!/usr/bin/env bash
# Behaviour tests of the core's SQL (test/sql_behaviour/): builds
# sql_behaviour_tests (CMake, with libpq) and runs it against the cluster of
# test/run_all.sh (PGHOST/PGPORT/PGUSER exported); run alone, it starts a
# throwaway cluster of its own, without pg_ivmx preloaded (the tests use
# plain tables only). The tests create a scratch database and drop it.
#
# SQLB_SEED (default 1) seeds every random sequence, SQLB_SCALE (default 1)
# multiplies their lengths; GTEST_FILTER picks cases. A failure prints the
# command that repeats it. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/lib/checks.sh
source test/lib/checks.sh

export CLUSTER_PRELOAD=${CLUSTER_PRELOAD-}
use_or_start_cluster
cleanup() {
  if $own_cluster; then cluster_stop; fi
}
trap cleanup EXIT

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target sql_behaviour_tests
if [[ ! -x build/sql_behaviour_tests ]]; then
  echo "sql_behaviour_tests was not built (is libpq-dev installed?)" >&2
  exit 1
fi
build/sql_behaviour_tests
