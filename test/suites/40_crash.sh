#!/usr/bin/env bash
# Deferred IMMVs survive crashes: under a pgbench UPDATE load on
# pgbench_accounts (2 clients, about 25 s: PHASE_SECONDS before each of the
# three crashes and after the last), the "pg_ivmx scheduler" is killed
# with SIGKILL, then a client backend (the postmaster then restarts every
# backend), then the server is stopped with pg_ctl stop -m immediate and
# started again. A refresh is one transaction that applies a batch and
# advances the watermark together, so no change may be lost or applied
# twice: afterwards the scheduler alone must bring every IMMV up to date,
# and after ivmx.flush() every IMMV must equal its query with nothing
# pending.
#
# pgbench loses its connections at every crash (it reports errors; that is
# expected); it is started again until the load ends. The whole script takes
# about 35 s (a minute when schedulers fail to come back). Run by
# test/run_all.sh against its cluster (PGHOST/PGPORT/PGUSER and CLUSTER_DATA
# exported), which is running again when this script ends; run alone, it
# starts a throwaway cluster (test/lib/cluster.sh). Prints one line per check
# and "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=test/lib/cluster.sh
source test/lib/cluster.sh
# shellcheck source=test/lib/checks.sh
source test/lib/checks.sh
export PATH="$PGBIN:$PATH"
own_cluster=false
if [[ -z ${PGPORT:-} ]]; then
  own_cluster=true
  # shellcheck disable=SC2119  # no DIR: a fresh temporary one
  cluster_start
fi
# The data directory, for pg_ctl stop -m immediate and start.
DATA=${CLUSTER_DATA:-$(psql -X -A -t -d postgres -c "SHOW data_directory")}
LOG=${CLUSTER_LOG:-$DATA/../crash_suite_server.log}

DB=ivmx_crash_$$
PHASE_SECONDS=${PHASE_SECONDS:-4}  # load before each crash, and after the last
MAX_LOAD_SECONDS=60
WORK=$(mktemp -d /tmp/ivmx_crash.XXXXXX)
chmod 755 "$WORK"
passed=0
failed=0
loader=

sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }


# Waits until the server accepts connections to $DB again (crash recovery).
server_up() {
  local end=$((SECONDS + ${1:-30}))
  while ((SECONDS < end)); do
    if pg_isready -q -h "$PGHOST" -p "$PGPORT" -t 1 && sql "SELECT 1" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Starts the server if it is down (after pg_ctl stop -m immediate, or when a
# step failed half-way); run_all's later suites need it.
ensure_running() {
  if ! pg_isready -q -h "$PGHOST" -p "$PGPORT" -t 2; then
    cluster_as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null 2>&1 || true
  fi
}

cleanup() {
  if [[ -n $loader ]]; then
    kill "$loader" 2>/dev/null || true
    wait "$loader" 2>/dev/null || true
  fi
  ensure_running
  if $own_cluster; then
    cluster_stop
  else
    server_up 30 >/dev/null 2>&1 || true
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

scheduler_pid_q="SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = current_database() ORDER BY pid LIMIT 1"
# 't' when the database runs its ivmx.max_workers_per_database schedulers.
scheduler_count_q="SELECT count(*) = current_setting('ivmx.max_workers_per_database')::int FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = current_database()"

# --- set-up ------------------------------------------------------------------
psql -X -q -d postgres -c "ALTER SYSTEM RESET ivmx.enabled" -c "SELECT pg_reload_conf()" >/dev/null
psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
pgbench -i -s 1 -q "$DB" >"$WORK/init.log" 2>&1
sql "CREATE EXTENSION pg_ivmx" >/dev/null
sql "SELECT ivmx.create_immv('branch_totals',
       'SELECT bid, count(*) AS n, sum(abalance) AS total, min(abalance) AS lo, max(abalance) AS hi
          FROM pgbench_accounts GROUP BY bid', mode => 'deferred')" >/dev/null
sql "SELECT ivmx.create_immv('busy_accounts',
       'SELECT aid, bid, abalance FROM pgbench_accounts WHERE abalance <> 0', mode => 'deferred')" >/dev/null
sql "SELECT ivmx.create_immv('branch_join',
       'SELECT b.bid, count(*) AS n, sum(a.abalance) AS total
          FROM pgbench_accounts a JOIN pgbench_branches b ON b.bid = a.bid GROUP BY b.bid',
       mode => 'deferred')" >/dev/null
check "the schedulers run in the database" poll "$scheduler_count_q" t

cat >"$WORK/update.sql" <<'EOF'
\set aid random(1, 100000 * :scale)
\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
EOF
chmod 644 "$WORK/update.sql"

# The load: pgbench runs of 3 s each, started again and again (also when a
# crash ended one) until the stop file appears or MAX_LOAD_SECONDS passed.
(
  end=$((SECONDS + MAX_LOAD_SECONDS))
  run=0
  while [[ ! -e $WORK/stop ]] && ((SECONDS < end)); do
    run=$((run + 1))
    pgbench -n -c 2 -j 2 -T 3 -f "$WORK/update.sql" "$DB" >"$WORK/pgbench_$run.log" 2>&1 || true
    sleep 0.1
  done
) &
loader=$!
start=$SECONDS

# rest_of_phase: sleeps what is left of PHASE_SECONDS since $phase_start
# (checks made since then count as load time).
rest_of_phase() {
  local left=$((PHASE_SECONDS - (SECONDS - phase_start)))
  ((left > 0)) && sleep "$left"
  return 0
}

# Transactions pgbench reported so far (over every run).
processed() {
  cat "$WORK"/pgbench_*.log 2>/dev/null |
    sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' |
    awk '{ s += $1 } END { print s + 0 }'
}
# Updates committed so far, from the table itself (pgbench's own count is lost
# when a run is cut short by a crash).
changed_rows() { sql "SELECT count(*) FROM pgbench_accounts WHERE abalance <> 0" 2>/dev/null || echo 0; }

# --- 1. SIGKILL the scheduler --------------------------------------------------
phase_start=$SECONDS
rest_of_phase
before=$(changed_rows)
check "the load is running (accounts changed: $before)" test "$before" -gt 0
check "the scheduler has refreshed under load" poll \
  "SELECT count(*) > 0 FROM ivmx.refresh_history WHERE error IS NULL" t 5
pid=$(sql "$scheduler_pid_q" || true)
if [[ -n $pid ]] && kill -9 "$pid"; then
  pass "kill -9 of the scheduler (pid $pid)"
else
  fail "kill -9 of the scheduler" "no scheduler pid found"
fi
sleep 0.5
check "the server recovers after the scheduler's crash" server_up 30
phase_start=$SECONDS
check "a new scheduler starts after the crash (20 s)" poll \
  "SELECT count(*) = current_setting('ivmx.max_workers_per_database')::int FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = current_database() AND pid <> ${pid:-0}" t 20

# --- 2. SIGKILL a client backend -------------------------------------------------
rest_of_phase
pid=
for _ in $(seq 1 50); do
  pid=$(sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
               AND backend_type = 'client backend' AND application_name = 'pgbench' LIMIT 1" 2>/dev/null || true)
  [[ -n $pid ]] && break
  sleep 0.1
done
if [[ -n $pid ]] && kill -9 "$pid"; then
  pass "kill -9 of a pgbench client backend (pid $pid)"
else
  fail "kill -9 of a pgbench client backend" "no pgbench backend found"
  last=$(ls -t "$WORK"/pgbench_*.log 2>/dev/null | head -1)
  [[ -n $last ]] && sed 's/^/    pgbench: /' "$last" | tail -5 >&2
fi
sleep 0.5
check "the server recovers after the client backend's crash" server_up 30
phase_start=$SECONDS
check "the schedulers run again (20 s)" poll "$scheduler_count_q" t 20

# --- 3. pg_ctl stop -m immediate, start -------------------------------------------
rest_of_phase
if cluster_as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1; then
  pass "pg_ctl stop -m immediate under load"
else
  fail "pg_ctl stop -m immediate under load"
fi
sleep 0.5
# The port can stay busy for a moment after the stop: retry a few times.
started=false
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if cluster_as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null 2>&1; then
    started=true
    break
  fi
  tail -n 5 "$LOG" 2>/dev/null | grep -q "could not bind\|Address already in use" || break
  sleep 0.5
done
if $started; then
  note=
  ((attempt > 1)) && note=" (attempt $attempt: the port was still in use)"
  pass "the server starts again$note"
else
  fail "the server starts again"
  tail -n 20 "$LOG" >&2 2>/dev/null || true
fi
check "the server accepts connections after the restart" server_up 30
phase_start=$SECONDS
check "the schedulers run after the restart (20 s)" poll "$scheduler_count_q" t 20

# --- the load ends -----------------------------------------------------------------
rest_of_phase
touch "$WORK/stop"
wait "$loader" 2>/dev/null || true
loader=
# Statistics start from zero after crash recovery: these are the updates
# committed after the restart.
updates=$(sql "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'pgbench_accounts'" || echo 0)
check "the load went on after the restart ($updates updates; pgbench reported $(processed) transactions in its complete runs)" \
  test "${updates:-0}" -gt 0
echo "    load ran for $((SECONDS - start)) s"

# --- consistency ----------------------------------------------------------------------
all_caught_up="SELECT bool_and(pending_rows = 0 AND ivmx.verify_immv(immv) = 0) FROM ivmx.immv_status"
check "the scheduler alone brings every IMMV up to date (pending 0, verify 0)" poll "$all_caught_up" t 30
check "ivmx.flush() succeeds" poll "SELECT ivmx.flush() >= 0" t 1
for v in branch_totals busy_accounts branch_join; do
  check "$v: verify_immv = 0 after flush" poll "SELECT ivmx.verify_immv('$v')" 0 1
  check "$v: pending_rows = 0" poll "SELECT pending_rows FROM ivmx.immv_status WHERE immv = '$v'::regclass" 0 1
done
check "no IMMV is failing or suspended" poll \
  "SELECT count(*) FROM ivmx.immv_status WHERE state <> 'ok'" 0 1
check "the IMMVs agree with each other (sum of balances)" poll \
  "SELECT (SELECT sum(total) FROM branch_totals) = (SELECT sum(abalance) FROM busy_accounts)
      AND (SELECT sum(total) FROM branch_totals) = (SELECT sum(total) FROM branch_join)" t 1

echo "$passed passed, $failed failed"
((failed == 0))
