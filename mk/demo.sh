#!/usr/bin/env bash
# Demo of pg_ivmx under load: a local cluster in .demo/ (git-ignored), pgbench
# data at scale 10, two IMMVs over pgbench_accounts, 10 s of concurrent balance
# updates, then a check that both IMMVs still equal their defining queries.
# The cluster keeps running afterwards so that you can look around.
#   bash mk/demo.sh         (re)create and run the demo (what `make demo` does)
#   bash mk/demo.sh stop    stop the demo cluster and delete .demo/
# Needs the extension installed (make install); run as root or as a user that
# can run PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=test/lib/cluster.sh
source test/lib/cluster.sh

DEMO_DIR=$PWD/.demo
DEMO_DB=ivmx_demo
SCALE=10
export CLUSTER_PORT_BASE=${CLUSTER_PORT_BASE:-54340}

demo_stop() {
  CLUSTER_DIR=$DEMO_DIR
  cluster_stop
}

demo_psql() {
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DEMO_DB" "$@"
}

demo_how_to() {
  echo "connect:  psql -h $PGHOST -p $PGPORT -U $PGUSER $DEMO_DB"
  echo "stop:     bash mk/demo.sh stop"
}

case ${1:-start} in
  stop)
    if [[ ! -d $DEMO_DIR ]]; then
      echo "demo: no demo cluster in $DEMO_DIR"
      exit 0
    fi
    demo_stop
    echo "demo: stopped, $DEMO_DIR removed"
    exit 0
    ;;
  start) ;;
  *)
    echo "usage: bash mk/demo.sh [start|stop]" >&2
    exit 2
    ;;
esac

# A demo always starts from scratch: stop and wipe a previous one.
demo_stop
cluster_start "$DEMO_DIR"
# On any failure: say so, show the server log, leave the cluster up to inspect.
demo_on_exit() {
  local rc=$?
  ((rc == 0)) && return
  echo "demo: FAILED; the cluster is left running for inspection" >&2
  cluster_log_tail 20
  demo_how_to >&2
}
trap demo_on_exit EXIT

echo "== loading pgbench data (scale $SCALE)"
"$PGBIN/createdb" "$DEMO_DB"
PGOPTIONS="-c client_min_messages=warning" "$PGBIN/pgbench" -i -q -s "$SCALE" "$DEMO_DB"

echo "== creating the IMMVs"
demo_psql <<'SQL'
CREATE EXTENSION pg_ivmx;
SELECT ivmx.create_immv('branch_totals',
  'SELECT bid, count(*), sum(abalance) FROM pgbench_accounts GROUP BY bid');
SELECT ivmx.create_immv('active_branches',
  'SELECT DISTINCT bid FROM pgbench_accounts WHERE abalance <> 0');
-- The same totals, maintained in the background instead of by the writers.
SELECT ivmx.create_immv('branch_totals_deferred',
  'SELECT bid, count(*), sum(abalance) FROM pgbench_accounts GROUP BY bid', mode => 'deferred');
SQL

show_views() {
  demo_psql <<'SQL'
\echo branch_totals (immediate):
SELECT bid, count, sum FROM branch_totals ORDER BY bid;
\echo active_branches (immediate):
SELECT bid FROM active_branches ORDER BY bid;
\echo maintenance status:
SELECT immv, mode, state, pending_rows, lag, refresh_count FROM ivmx.immv_status ORDER BY immv::text;
SQL
}
show_views

echo "== 10 s of pgbench: 2 clients updating random account balances"
cat >"$DEMO_DIR/update_balance.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SQL
"$PGBIN/pgbench" -n -c 2 -j 2 -T 10 -s "$SCALE" -f "$DEMO_DIR/update_balance.sql" "$DEMO_DB"

echo "== the IMMVs after the load"
show_views

echo "== verify (0 = the IMMV equals its query; the deferred one after the scheduler caught up)"
sleep 2
verdict=$(demo_psql -At -F ' ' \
  -c "SELECT ivmx.verify_immv('branch_totals'), ivmx.verify_immv('active_branches'), ivmx.verify_immv('branch_totals_deferred')")
read -r v_totals v_active v_deferred <<<"$verdict"
echo "branch_totals: $v_totals   active_branches: $v_active   branch_totals_deferred: $v_deferred"
if [[ $verdict != "0 0 0" ]]; then
  echo "demo: an IMMV differs from its query" >&2
  exit 1
fi

echo
echo "demo: OK; the cluster keeps running on 127.0.0.1:$PGPORT (data in $CLUSTER_DATA)"
demo_how_to
