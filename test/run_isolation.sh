#!/usr/bin/env bash
# Runs the isolation suite: test/isolation/specs/*.spec against
# test/isolation/expected/*.out (or test/isolation/schedule if present), in the
# database ivmx_isolation. Results land in test/isolation/output_iso.
#   bash test/run_isolation.sh          every spec (starts a cluster if needed)
#   bash test/run_isolation.sh NAME...  only these specs
#   bash test/run_isolation.sh --installcheck [NAME...]
#       against the running server of the libpq environment, as
#       test/run_regress.sh --installcheck does
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=test/lib/pg_regress_suite.sh
source test/lib/pg_regress_suite.sh

# pg_isolation_regress finds isolationtester next to itself; --bindir is for psql.
run_pg_regress_suite isolation "$PGXS_TESTDIR/isolation/pg_isolation_regress" \
  test/isolation specs spec test/isolation/output_iso ivmx_isolation "$@"
