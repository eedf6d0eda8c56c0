#!/usr/bin/env bash
# Background workers of deferred maintenance: the "pg_ivmx launcher" and
# ivmx.max_workers_per_database "pg_ivmx scheduler" workers per database with
# pg_ivmx (scheduler/launcher.cpp); the count is read from the server, so the
# suite holds whatever it is set to (test/suites/25_workers_parallel.sh
# changes it).
#
# Checks, each with a timeout (pg_stat_activity polled every 0.1 s, 10 s at
# most): the launcher runs; the schedulers appear after CREATE EXTENSION, a
# terminated one is replaced, they leave after DROP EXTENSION and stay away,
# come back after CREATE EXTENSION; databases without pg_ivmx keep no
# scheduler; CREATE DATABASE ... TEMPLATE, ALTER DATABASE RENAME and DROP
# DATABASE (without FORCE) succeed while schedulers are attached; a
# configuration reload kills nothing.
#
# Run by test/run_all.sh against its cluster (PGHOST/PGPORT/PGUSER exported);
# run alone, it starts a throwaway cluster (test/lib/cluster.sh). Prints one
# line per check and "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/lib/checks.sh
source test/lib/checks.sh

own_cluster=false
if [[ -z ${PGPORT:-} ]]; then
  # shellcheck source=test/lib/cluster.sh
  source test/lib/cluster.sh
  export PATH="$PGBIN:$PATH"
  own_cluster=true
  trap cluster_stop EXIT
  # shellcheck disable=SC2119  # no DIR: a fresh temporary one
  cluster_start
fi

DB=ivmx_workers_$$
COPY=${DB}_copy
RENAMED=${DB}_renamed
passed=0
failed=0

# sql [DB] QUERY: runs QUERY, prints the result unaligned without headers.
sql_in() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
sql() { sql_in postgres "$1"; }





# Schedulers per database with pg_ivmx.
N=$(sql "SHOW ivmx.max_workers_per_database")

launcher_q="SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_ivmx launcher'"
launcher_pid_q="SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_ivmx launcher'"
schedulers_q() {
  echo "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = '$1'"
}
scheduler_pid_q() {
  echo "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = '$1' ORDER BY pid LIMIT 1"
}

cleanup() {
  local db
  for db in "$DB" "$COPY" "$RENAMED"; do
    sql "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  sql "ALTER SYSTEM RESET ivmx.naptime" >/dev/null 2>&1 || true
  sql "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
if $own_cluster; then
  trap 'cleanup; cluster_stop' EXIT
else
  trap cleanup EXIT
fi

# --- the launcher ------------------------------------------------------------
check "the launcher is running" poll "$launcher_q" 1
launcher_pid=$(sql "$launcher_pid_q")
check "the launcher shows application_name 'pg_ivmx launcher'" poll \
  "SELECT application_name FROM pg_stat_activity WHERE backend_type = 'pg_ivmx launcher'" \
  "pg_ivmx launcher"

# --- N schedulers per database with pg_ivmx -------------------------------------
sql "CREATE DATABASE $DB" >/dev/null
sql_in "$DB" "CREATE EXTENSION pg_ivmx" >/dev/null
check "CREATE EXTENSION starts $N schedulers in its database" poll "$(schedulers_q "$DB")" "$N"
check "the schedulers show application_name 'pg_ivmx scheduler'" poll \
  "SELECT DISTINCT application_name FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = '$DB'" \
  "pg_ivmx scheduler"
check "a database without pg_ivmx keeps no scheduler" poll "$(schedulers_q postgres)" 0

# --- restart after pg_terminate_backend ---------------------------------------
old_pid=$(sql "$(scheduler_pid_q "$DB")")
sql "SELECT pg_terminate_backend($old_pid)" >/dev/null
check "a terminated scheduler is replaced" poll \
  "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = '$DB' AND pid <> $old_pid" "$N"

# --- DROP EXTENSION / CREATE EXTENSION ----------------------------------------
sql_in "$DB" "DROP EXTENSION pg_ivmx" >/dev/null
check "DROP EXTENSION makes every scheduler leave" poll "$(schedulers_q "$DB")" 0
check "no scheduler comes back without the extension (3 s)" stays "$(schedulers_q "$DB")" 0 3
sql_in "$DB" "CREATE EXTENSION pg_ivmx" >/dev/null
check "CREATE EXTENSION again brings the schedulers back" poll "$(schedulers_q "$DB")" "$N"

# --- configuration reload -----------------------------------------------------
before=$(sql "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE backend_type IN ('pg_ivmx launcher', 'pg_ivmx scheduler')")
sql "ALTER SYSTEM SET ivmx.naptime = '200ms'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
check "the new ivmx.naptime is in effect" poll "SHOW ivmx.naptime" 200ms
check "a configuration reload kills no worker (2 s)" stays \
  "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE backend_type IN ('pg_ivmx launcher', 'pg_ivmx scheduler')" \
  "$before" 2
sql "ALTER SYSTEM RESET ivmx.naptime" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null

# --- commands that need the database without other sessions -------------------
if sql "CREATE DATABASE $COPY TEMPLATE $DB" >/dev/null; then
  pass "CREATE DATABASE ... TEMPLATE succeeds while a scheduler is attached"
else
  fail "CREATE DATABASE ... TEMPLATE succeeds while a scheduler is attached"
fi
check "the template database gets its schedulers back" poll "$(schedulers_q "$DB")" "$N"
check "the copy (with pg_ivmx) gets schedulers" poll "$(schedulers_q "$COPY")" "$N"

if sql "ALTER DATABASE $COPY RENAME TO $RENAMED" >/dev/null; then
  pass "ALTER DATABASE RENAME succeeds while a scheduler is attached"
else
  fail "ALTER DATABASE RENAME succeeds while a scheduler is attached"
fi
check "the renamed database gets its schedulers back" poll "$(schedulers_q "$RENAMED")" "$N"

check "the schedulers are attached before DROP DATABASE" poll "$(schedulers_q "$DB")" "$N"
if sql "DROP DATABASE $DB" >/dev/null; then
  pass "DROP DATABASE (without FORCE) succeeds while a scheduler is attached"
else
  fail "DROP DATABASE (without FORCE) succeeds while a scheduler is attached"
fi
check "the database is gone" poll "SELECT count(*) FROM pg_database WHERE datname = '$DB'" 0
if sql "DROP DATABASE $RENAMED" >/dev/null; then
  pass "DROP DATABASE of a second database succeeds"
else
  fail "DROP DATABASE of a second database succeeds"
fi
check "no scheduler is left for dropped databases" poll \
  "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname IS NULL" 0

# --- a DROP DATABASE that fails gives the scheduler back ------------------------
sql "CREATE DATABASE $DB" >/dev/null
sql_in "$DB" "CREATE EXTENSION pg_ivmx" >/dev/null
check "the schedulers run in the recreated database" poll "$(schedulers_q "$DB")" "$N"
# A session of our own keeps the database busy: DROP DATABASE must fail, and
# the scheduler it stopped must come back.
psql -X -q -d "$DB" -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
sleeper=$!
poll "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" 1 >/dev/null || true
if sql "DROP DATABASE $DB" >/dev/null 2>&1; then
  fail "DROP DATABASE fails while a user session is connected"
else
  pass "DROP DATABASE fails while a user session is connected"
fi
check "the schedulers come back after the failed DROP DATABASE" poll "$(schedulers_q "$DB")" "$N"
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$DB' AND backend_type = 'client backend'" >/dev/null
wait "$sleeper" 2>/dev/null || true
if sql "DROP DATABASE $DB" >/dev/null; then
  pass "DROP DATABASE succeeds once the user session left"
else
  fail "DROP DATABASE succeeds once the user session left"
fi

# --- the launcher survived everything -------------------------------------------
check "the launcher is the same process throughout" poll "$launcher_pid_q" "$launcher_pid"

echo "$passed passed, $failed failed"
((failed == 0))
