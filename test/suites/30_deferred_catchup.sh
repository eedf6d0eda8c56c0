#!/usr/bin/env bash
# Deferred IMMVs brought up to date by the "pg_ivmx scheduler" alone, without
# ivmx.flush: the scheduler must catch up after writes in many transactions,
# be woken by committing writers (not only every ivmx.naptime), give a
# table's log pages back after a burst, drain a
# backlog larger than ivmx.max_batch_rows batch after batch, respect a
# view's refresh_interval, record a failing refresh (state 'failing',
# last_error, consecutive_failures, next_attempt, an error row in
# refresh_history) while it keeps refreshing the other deferred views, and
# bring the failing view back to 'ok' once the offending row is deleted. A
# session holding an open flush of one view must not stall the others, and
# IMMVs dropped while the scheduler refreshes them must not stop it.
#
# Every wait polls every 0.1 s for at most 10 s (TIMEOUT). Run by
# test/run_all.sh against its cluster (PGHOST/PGPORT/PGUSER exported); run
# alone, it starts a throwaway cluster (test/lib/cluster.sh). Prints one line
# per check and "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/lib/checks.sh
source test/lib/checks.sh

use_or_start_cluster

DB=ivmx_catchup_$$
TIMEOUT=${TIMEOUT:-10}
passed=0
failed=0
sleeper=

sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
sql_postgres() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -c "$1"; }





# Query printing 't' when IMMV $1 has nothing pending and equals its query.
caught_up() {
  echo "SELECT pending_rows = 0 AND ivmx.verify_immv(immv) = 0 FROM ivmx.immv_status WHERE immv = '$1'::regclass"
}

reset_settings() {
  sql_postgres "ALTER SYSTEM RESET ivmx.naptime" >/dev/null 2>&1 || true
  sql_postgres "ALTER SYSTEM RESET ivmx.max_retry_interval" >/dev/null 2>&1 || true
  sql_postgres "ALTER SYSTEM RESET ivmx.max_batch_rows" >/dev/null 2>&1 || true
  sql_postgres "ALTER SYSTEM RESET ivmx.refresh_delay" >/dev/null 2>&1 || true
  sql_postgres "ALTER SYSTEM RESET ivmx.enabled" >/dev/null 2>&1 || true
  sql_postgres "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}

cleanup() {
  [[ -n $sleeper ]] && kill "$sleeper" 2>/dev/null || true
  reset_settings
  sql_postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  if $own_cluster; then cluster_stop; fi
}
trap cleanup EXIT

# The scheduler must be on (a suite that died may have left it off); failed
# refreshes are retried within half a second here instead of minutes.
sql_postgres "ALTER SYSTEM RESET ivmx.enabled" >/dev/null
sql_postgres "ALTER SYSTEM SET ivmx.max_retry_interval = '500ms'" >/dev/null
sql_postgres "SELECT pg_reload_conf()" >/dev/null

sql_postgres "CREATE DATABASE $DB" >/dev/null
sql "CREATE EXTENSION pg_ivmx" >/dev/null
check "the schedulers run in the database (ivmx.max_workers_per_database)" poll \
  "SELECT count(*) = current_setting('ivmx.max_workers_per_database')::int FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = current_database()" t
check "ivmx.enabled is on" poll "SHOW ivmx.enabled" on

sql "CREATE TABLE acc (id int PRIMARY KEY, branch int NOT NULL, bal int NOT NULL)" >/dev/null
sql "INSERT INTO acc SELECT g, g % 4, 0 FROM generate_series(1, 200) g" >/dev/null
sql "CREATE TABLE branch (branch int PRIMARY KEY, name text)" >/dev/null
sql "INSERT INTO branch SELECT g, 'b' || g FROM generate_series(0, 3) g" >/dev/null
sql "SELECT ivmx.create_immv('acc_totals',
       'SELECT branch, count(*) AS n, sum(bal) AS total, min(bal) AS lo, max(bal) AS hi FROM acc GROUP BY branch',
       mode => 'deferred')" >/dev/null
sql "SELECT ivmx.create_immv('acc_named',
       'SELECT b.name, count(*) AS n, sum(a.bal) AS total FROM acc a JOIN branch b USING (branch) GROUP BY b.name',
       mode => 'deferred')" >/dev/null

# --- catching up without flush -------------------------------------------------
for i in $(seq 1 20); do
  sql "BEGIN;
       UPDATE acc SET bal = bal + $i WHERE id % 20 = $((i % 20));
       INSERT INTO acc VALUES ($((1000 + i)), $((i % 4)), $i);
       DELETE FROM acc WHERE id = $((i * 7));
       COMMIT" >/dev/null
done
sql "UPDATE branch SET name = 'renamed' WHERE branch = 2" >/dev/null
check "the grouped IMMV catches up without flush (pending_rows 0, verify 0)" poll "$(caught_up acc_totals)" t
check "the join IMMV catches up without flush (pending_rows 0, verify 0)" poll "$(caught_up acc_named)" t
check "refresh_count > 0, state ok, last_error NULL, lag 0" poll \
  "SELECT bool_and(refresh_count > 0 AND state = 'ok' AND last_error IS NULL AND consecutive_failures = 0
                   AND lag = interval '0' AND last_refresh IS NOT NULL)
     FROM ivmx.immv_status WHERE immv IN ('acc_totals'::regclass, 'acc_named'::regclass)" t
check "refresh_history has error-free rows for both IMMVs" poll \
  "SELECT count(DISTINCT immvrelid) FROM ivmx.refresh_history
    WHERE immvrelid IN ('acc_totals'::regclass, 'acc_named'::regclass) AND error IS NULL AND rows_consumed > 0" 2
logrel=$(sql "SELECT logrelid FROM ivmx.delta_log WHERE relid = 'acc'::regclass")
check "the delta log of acc is garbage-collected" poll "SELECT count(*) FROM $logrel" 0
# The log of a deferred IMMV that another deferred IMMV reads is truncated by
# the scheduler once its rows are applied (it gives way to any session
# holding the log, so a change or two may pass); the table's log is not.
sql "SELECT ivmx.create_immv('acc_rich', 'SELECT branch, total FROM acc_totals WHERE total > 100',
       mode => 'deferred')" >/dev/null
totals_log=$(sql "SELECT logrelid FROM ivmx.delta_log WHERE relid = 'acc_totals'::regclass")
log_truncated() {
  local attempt
  for attempt in 1 2 3 4 5; do
    sql "UPDATE acc SET bal = bal + 50 WHERE id % 10 = $attempt" >/dev/null
    poll "$(caught_up acc_rich)" t >/dev/null 2>&1 || return 1
    [[ $(sql "SELECT pg_relation_size('$totals_log')") == 0 ]] && return 0
  done
  return 1
}
check "the log between two deferred levels is truncated, not deleted from" log_truncated
check "... and the upper level equals its query" poll "$(caught_up acc_rich)" t
sql "DROP TABLE acc_rich" >/dev/null

# --- woken by committing writers --------------------------------------------------
# With a naptime of 60 s only the wake-up at commit can apply a change in time.
sql_postgres "ALTER SYSTEM SET ivmx.naptime = '60s'" >/dev/null
sql_postgres "SELECT pg_reload_conf()" >/dev/null
poll "SHOW ivmx.naptime" 1min >/dev/null || true
sleep 0.5  # let the scheduler finish the round it may be in and sleep
sql "UPDATE acc SET bal = bal + 1 WHERE id = 1" >/dev/null
check "a committing writer wakes the scheduler (naptime 60 s, applied within 5 s)" poll \
  "$(caught_up acc_totals)" t 5
sql "BEGIN; INSERT INTO acc VALUES (5000, 1, 1); SELECT pg_sleep(1); COMMIT" >/dev/null
check "a writer committing after a pause wakes it too" poll "$(caught_up acc_totals)" t 5
sql_postgres "ALTER SYSTEM RESET ivmx.naptime" >/dev/null
sql_postgres "SELECT pg_reload_conf()" >/dev/null
poll "SHOW ivmx.naptime" 1s >/dev/null || true

# --- a table's log after a burst ------------------------------------------------------
# 3000 log rows, applied and deleted: once the burst is over, the scheduler
# vacuums the log, which gives its pages back (autovacuum is off for it here,
# so that only the scheduler can).
sql "CREATE TABLE burst (id int PRIMARY KEY, v int)" >/dev/null
sql "SELECT ivmx.create_immv('burst_n', 'SELECT count(*) AS n, sum(v) AS s FROM burst', mode => 'deferred')" >/dev/null
burstlog=$(sql "SELECT logrelid FROM ivmx.delta_log WHERE relid = 'burst'::regclass")
sql "ALTER TABLE $burstlog SET (autovacuum_enabled = false)" >/dev/null
sql "INSERT INTO burst SELECT g, g FROM generate_series(1, 3000) g" >/dev/null
check "a burst of 3000 rows is applied" poll "$(caught_up burst_n)" t
check "... and its log's pages are given back (vacuumed, truncated)" poll \
  "SELECT pg_relation_size('$burstlog') = 0" t
sql "DROP TABLE burst_n, burst" >/dev/null

# --- a backlog larger than ivmx.max_batch_rows --------------------------------------
# Twelve transactions of 50 log rows each, logged while the scheduler is off,
# with at most 50 rows per refresh: twelve refreshes, run back to back (with
# ivmx.refresh_delay = 1s between them they would take over 11 s). A batch
# ends at a snapshot a scheduler took (batches follow commit order); switched
# off, a scheduler still takes one when a commit wakes it: a short pause
# after each transaction lets it.
sql "CREATE TABLE bl (id int PRIMARY KEY, k int, v int)" >/dev/null
# (5000 rows, analyzed: 50 log rows stay far below ivmx.full_refresh_ratio.)
sql "INSERT INTO bl SELECT g, g % 4, g FROM generate_series(1, 5000) g" >/dev/null
sql "ANALYZE bl" >/dev/null
sql "SELECT ivmx.create_immv('bl_sum', 'SELECT k, count(*) AS n, sum(v) AS s FROM bl GROUP BY k', mode => 'deferred')" >/dev/null
sql_postgres "ALTER SYSTEM SET ivmx.enabled = off" >/dev/null
sql_postgres "SELECT pg_reload_conf()" >/dev/null
poll "SHOW ivmx.enabled" off >/dev/null || true
sleep 0.5  # let a round in progress end
for i in $(seq 12); do
  sql "UPDATE bl SET v = v + $i WHERE id <= 25" >/dev/null
  sleep 0.2
done
sql_postgres "ALTER SYSTEM SET ivmx.max_batch_rows = 50" >/dev/null
sql_postgres "ALTER SYSTEM SET ivmx.refresh_delay = '1s'" >/dev/null
sql_postgres "ALTER SYSTEM RESET ivmx.enabled" >/dev/null
sql_postgres "SELECT pg_reload_conf()" >/dev/null
check "a backlog of 12 batches drains back to back (refresh_delay 1 s, within 5 s)" poll "$(caught_up bl_sum)" t 5
check "... in batches of at most ivmx.max_batch_rows" poll \
  "SELECT count(*) >= 12 AND max(rows_consumed) <= 50 FROM ivmx.refresh_history WHERE immvrelid = 'bl_sum'::regclass AND kind = 'incremental'" t 1
sql_postgres "ALTER SYSTEM RESET ivmx.max_batch_rows" >/dev/null
sql_postgres "ALTER SYSTEM RESET ivmx.refresh_delay" >/dev/null
sql_postgres "SELECT pg_reload_conf()" >/dev/null
sql "DROP TABLE bl_sum, bl" >/dev/null

# --- refresh_interval ---------------------------------------------------------------
sql "SELECT ivmx.set_refresh_interval('acc_totals', '4 seconds')" >/dev/null
sql "UPDATE acc SET bal = bal + 1 WHERE id = 2" >/dev/null
poll "$(caught_up acc_totals)" t >/dev/null || true
sql "UPDATE acc SET bal = bal + 1 WHERE id = 3" >/dev/null
check "refresh_interval: a change right after a refresh stays pending for 1 s" stays \
  "SELECT pending_rows > 0 FROM ivmx.immv_status WHERE immv = 'acc_totals'::regclass" t 1
check "refresh_interval: ... and is applied once the interval has passed" poll "$(caught_up acc_totals)" t
check "refresh_interval: the other IMMV of the table was not held back" poll "$(caught_up acc_named)" t 1
sql "SELECT ivmx.set_refresh_interval('acc_totals', NULL)" >/dev/null

# --- a failing refresh ---------------------------------------------------------------
sql "CREATE TABLE ratios (k int, v int)" >/dev/null
sql "INSERT INTO ratios VALUES (1, 1), (1, 2), (2, 4)" >/dev/null
sql "SELECT ivmx.create_immv('inverse', 'SELECT k, sum(100 / v) AS s FROM ratios GROUP BY k', mode => 'deferred')" >/dev/null
sql "INSERT INTO ratios VALUES (3, 5)" >/dev/null
check "the view that will fail catches up first" poll "$(caught_up inverse)" t
if sql "INSERT INTO ratios VALUES (2, 0)" >/dev/null; then
  pass "the writer of the bad row is not affected (deferred)"
else
  fail "the writer of the bad row is not affected (deferred)"
fi
check "the failing view shows state 'failing', last_error, consecutive_failures >= 1, next_attempt" poll \
  "SELECT state = 'failing' AND last_error LIKE '%division by zero%' AND consecutive_failures >= 1
          AND next_attempt IS NOT NULL AND pending_rows > 0
     FROM ivmx.immv_status WHERE immv = 'inverse'::regclass" t
check "refresh_history records the error" poll \
  "SELECT count(*) > 0 FROM ivmx.refresh_history WHERE immvrelid = 'inverse'::regclass AND error LIKE '%division by zero%'" t
check "the failure is retried (consecutive_failures grows)" poll \
  "SELECT consecutive_failures >= 3 FROM ivmx.immv_status WHERE immv = 'inverse'::regclass" t
count_before=$(sql "SELECT refresh_count FROM ivmx.immv_status WHERE immv = 'acc_totals'::regclass")
for i in 1 2 3; do sql "UPDATE acc SET bal = bal - $i WHERE branch = $i" >/dev/null; done
check "other deferred views keep being refreshed meanwhile" poll "$(caught_up acc_totals)" t
check "... (refresh_count grew)" poll \
  "SELECT refresh_count > $count_before FROM ivmx.immv_status WHERE immv = 'acc_totals'::regclass" t
check "... and the join view too" poll "$(caught_up acc_named)" t
check "the failing view is still failing while the bad row is there" poll \
  "SELECT state FROM ivmx.immv_status WHERE immv = 'inverse'::regclass" failing 1
sql "DELETE FROM ratios WHERE v = 0" >/dev/null
check "once the bad row is deleted the view recovers (state 'ok', nothing pending, verify 0)" poll \
  "SELECT state = 'ok' AND consecutive_failures = 0 AND last_error IS NULL AND pending_rows = 0
          AND ivmx.verify_immv(immv) = 0
     FROM ivmx.immv_status WHERE immv = 'inverse'::regclass" t
if [[ $(sql "SELECT state FROM ivmx.immv_status WHERE immv = 'inverse'::regclass") != ok ]]; then
  # Not recovered by itself: a full refresh must still bring it back.
  echo "    (recomputing inverse with refresh_immv to go on)"
  check "refresh_immv brings the failing view back" poll \
    "SELECT ivmx.refresh_immv('inverse', true) >= 0 AND state = 'ok' FROM ivmx.immv_status WHERE immv = 'inverse'::regclass" t 1
fi
sql "INSERT INTO ratios VALUES (4, 50)" >/dev/null
check "a recovered view is maintained again" poll "$(caught_up inverse)" t
check "... and the view stays 'ok'" poll \
  "SELECT state FROM ivmx.immv_status WHERE immv = 'inverse'::regclass" ok 1

# --- an open flush of one IMMV does not stall the others --------------------------
sql "CREATE TABLE locked (id int)" >/dev/null
sql "SELECT ivmx.create_immv('locked_count', 'SELECT count(*) AS n FROM locked', mode => 'deferred')" >/dev/null
# A session flushes locked_count and keeps its transaction (and the lock on
# the IMMV) open for 8 s; meanwhile another session changes locked, so the
# scheduler has a reason to refresh locked_count too.
psql -X -q -d "$DB" -c "BEGIN" -c "SELECT ivmx.flush('locked_count')" \
  -c "SELECT pg_sleep(8)" -c "COMMIT" >/dev/null 2>&1 &
sleeper=$!
poll "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'SELECT pg_sleep(8)'" 1 >/dev/null || true
sql "INSERT INTO locked VALUES (1)" >/dev/null
sleep 1
sql "UPDATE acc SET bal = bal + 1 WHERE id = 4" >/dev/null
check "a session holding a flush open on one IMMV does not stall the others (4 s)" poll \
  "$(caught_up acc_totals)" t 4
wait "$sleeper" 2>/dev/null || true
sleeper=
check "the IMMV that was locked catches up once the session ends" poll "$(caught_up locked_count)" t

# --- deferred IMMVs dropped while the scheduler refreshes them ---------------------
# A refresh racing DROP TABLE of its IMMV fails: that must not stop the
# scheduler (it did: an error escaped its round, and the worker was restarted
# with a growing back-off).
sql "CREATE TABLE churn (id int PRIMARY KEY, k int, v int)" >/dev/null
sql "INSERT INTO churn SELECT g, g % 5, g FROM generate_series(1, 2000) g" >/dev/null
scheduler_pid="SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = current_database()"
pid_before=$(sql "$scheduler_pid")
churn_script=$(mktemp)
printf '%s\n' '\set id random(1, 2000)' 'UPDATE churn SET v = v + 1 WHERE id = :id;' >"$churn_script"
for round in 1 2 3 4 5; do
  sql "SELECT ivmx.create_immv('churn_a', 'SELECT k, sum(v) AS s FROM churn GROUP BY k', mode => 'deferred')" >/dev/null
  sql "SET client_min_messages = warning; SELECT ivmx.create_immv('churn_b', 'SELECT k, s FROM churn_a WHERE s > 0', mode => 'deferred')" >/dev/null
  pgbench -n -c 2 -j 2 -T 2 -f "$churn_script" "$DB" >/dev/null 2>&1
  sql "DROP TABLE churn_b" >/dev/null
  sql "DROP TABLE churn_a" >/dev/null
done
rm -f "$churn_script"
check "IMMVs dropped right after a load (5 times): the schedulers keep running (same processes)" \
  [ "$(sql "$scheduler_pid")" == "$pid_before" ]

# --- every deferred IMMV of the database is consistent at the end -------------------
check "every IMMV equals its query, nothing pending" poll \
  "SELECT bool_and(pending_rows = 0 AND ivmx.verify_immv(immv) = 0) FROM ivmx.immv_status" t

echo "$passed passed, $failed failed"
((failed == 0))
