#!/usr/bin/env bash
# Randomized differential test of pg_ivmx: builds ivmx_stress (C++17, libpq)
# into test/stress/build and runs it (see README.md): random statements
# against IMMVs of every shape, each IMMV checked against its defining query
# after every statement, first in one session, then in several at once.
#
# Uses the cluster named by PGHOST/PGPORT/PGUSER (as test/run_all.sh sets
# them); without them it starts a throwaway cluster (test/lib/cluster.sh) and
# stops it at the end. Expects pg_ivmx to be installed (make install). The
# run changes ivmx.max_batch_rows, ivmx.full_refresh_ratio and ivmx.enabled
# with ALTER SYSTEM (cluster-wide) and resets them when it ends.
# Knobs: STRESS_SEED, STRESS_STATEMENTS, STRESS_CONCURRENT_STATEMENTS,
# STRESS_SESSIONS, STRESS_MODE, STRESS_SCRIPT, STRESS_DEADLOCKS.
# The first line printed is the seed; the exit status is non-zero on any
# mismatch or error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# Chosen here rather than in the tool so that a failed run can always be repeated.
if [[ -z ${STRESS_SEED:-} ]]; then
  STRESS_SEED=$(($(od -An -N4 -tu4 /dev/urandom) % 1000000000))
fi
export STRESS_SEED
# Every statement of the sequential run, as a psql script that replays it.
export STRESS_SCRIPT=${STRESS_SCRIPT:-$here/build/sequential.sql}
# Every deadlock of the concurrent mode, with its cause.
export STRESS_DEADLOCKS=${STRESS_DEADLOCKS:-$here/build/deadlocks.txt}

build_log=$(mktemp)
if ! make -s -C "$here" -j2 >"$build_log" 2>&1; then
  echo "stress: seed $STRESS_SEED" # the seed is printed first, even now
  cat "$build_log" >&2
  rm -f "$build_log"
  echo "stress: could not build ivmx_stress" >&2
  exit 1
fi
rm -f "$build_log"

if [[ -z ${PGHOST:-} || -z ${PGPORT:-} ]]; then
  # shellcheck source=test/lib/cluster.sh
  source "$root/test/lib/cluster.sh"
  trap cluster_stop EXIT
  cluster_start >/dev/null
fi
export PGUSER=${PGUSER:-postgres}

"$here/build/ivmx_stress"
