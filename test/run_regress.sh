#!/usr/bin/env bash
# Runs the pg_regress suite: test/regress/sql/*.sql against
# test/regress/expected/*.out (or test/regress/schedule if present), in the
# database ivmx_regress. Results and regression.diffs land in test/regress.
#   bash test/run_regress.sh            every test (starts a cluster if needed)
#   bash test/run_regress.sh NAME...    only these tests
#   bash test/run_regress.sh --installcheck [NAME...]
#       against the running server named by PGHOST/PGPORT/PGUSER (libpq's
#       defaults otherwise), which must preload pg_ivmx; starts no cluster.
#       The database ivmx_regress is dropped and recreated there
#       (make installcheck).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=test/lib/pg_regress_suite.sh
source test/lib/pg_regress_suite.sh

run_pg_regress_suite regress "$PGXS_TESTDIR/regress/pg_regress" \
  test/regress sql sql test/regress ivmx_regress "$@"
