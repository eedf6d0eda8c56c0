#!/usr/bin/env bash
# Dump and restore of a database holding IMMVs, following the README's "Dump
# and restore" procedure to the letter: the ivmx.get_restore_immv_commands()
# output saved before the dump, pg_dump, psql -f of the dump into a new
# database, then psql -f of the saved commands.  The source database has IMMVs
# of several shapes: a single-table aggregate, a DISTINCT view (in a schema of
# its own, under a name that needs quoting), a join, a deferred grouped join,
# an immediate IMMV over the aggregate IMMV, a deferred IMMV over the
# deferred one, a deferred IMMV joining a table with generate_series (a
# function in FROM), an IMMV without FROM, which reads no table, and one
# with HAVING and count(DISTINCT), whose kept tables are made anew.  After
# the restore every IMMV must equal its query
# (ivmx.verify_immv = 0) with the rows it had, keep its mode, refuse direct
# writes, and be maintained again: DML on the base tables, then verify again
# (the deferred ones through the scheduler and through ivmx.flush).  The
# deferred IMMVs are flushed before the dump.  The schema-only path recreates
# the IMMVs with ivmx.get_create_immv_commands() in a database restored from
# a schema-only dump; the dump leaves the IMMV tables out, since create_immv
# makes them (a schema-only dump holding them makes create_immv fail with
# "relation already exists").
#
# Run by test/run_all.sh against its cluster (PGHOST/PGPORT/PGUSER exported);
# run alone, it starts a throwaway cluster (test/lib/cluster.sh). Prints one
# line per check and "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/lib/checks.sh
source test/lib/checks.sh

use_or_start_cluster

SRC=ivmx_dump_src_$$
DST=ivmx_dump_dst_$$
SCHEMA_ONLY=ivmx_dump_schema_$$
PENDING=ivmx_dump_pending_$$
TIMEOUT=${TIMEOUT:-10}
WORK=$(mktemp -d /tmp/ivmx_dump.XXXXXX)
passed=0
failed=0
db=$SRC

# sql QUERY: runs QUERY in the database $db and prints the result.
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
sql_postgres() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -c "$1"; }

cleanup() {
  local d
  for d in "$SRC" "$DST" "$SCHEMA_ONLY" "$PENDING"; do
    sql_postgres "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
  if $own_cluster; then cluster_stop; fi
}
trap cleanup EXIT

# The IMMVs of the test, upstream ones first, as regclass literals.
IMMVS=(acc_totals 'reports."Distinct Bal"' acc_named branch_stats all_totals stats_summary bal_slots constants
  branch_report bal_except)
DEFERRED=(branch_stats stats_summary bal_slots)

# Query printing one line "name verify_result" per IMMV of the database.
verify_all() {
  echo "SELECT immv::regclass || ' ' || ivmx.verify_immv(immv) FROM ivmx.immvs ORDER BY immv::regclass::text"
}
# The same lines, all with 0: what verify_all prints when every IMMV is right.
all_zero() {
  local name out=
  for name in $(sql "SELECT immv::regclass FROM ivmx.immvs ORDER BY immv::regclass::text" | tr ' ' '~'); do
    out+="${name//\~/ } 0"$'\n'
  done
  printf '%s' "${out%$'\n'}"
}
# Prints the user columns of every IMMV, for comparing two databases.
contents() {
  sql "SELECT branch, n, total, hi FROM acc_totals ORDER BY branch"
  sql "SELECT branch, m FROM reports.\"Distinct Bal\" ORDER BY branch, m"
  sql "SELECT name, id, bal FROM acc_named ORDER BY name, id, bal"
  sql "SELECT name, n, total FROM branch_stats ORDER BY name"
  sql "SELECT branches, total FROM all_totals"
  sql "SELECT names, n FROM stats_summary"
  sql "SELECT branch, slot, n FROM bal_slots ORDER BY branch, slot"
  sql "SELECT one, t FROM constants"
}
# Query printing the IMMVs with their modes, and whether they are populated.
modes() {
  echo "SELECT immv::regclass || ' ' || mode || ' ' || populated FROM ivmx.immvs ORDER BY immv::regclass::text"
}
# Query printing 't' when deferred IMMV $1 has nothing pending and equals its query.
caught_up() {
  echo "SELECT pending_rows = 0 AND ivmx.verify_immv(immv) = 0 FROM ivmx.immv_status WHERE immv = '$1'::regclass"
}
# Some writes touching every IMMV: updates, inserts, deletes, a new branch.
write_some() {
  sql "BEGIN;
       UPDATE acc SET bal = bal + 7 WHERE id % 5 = 1;
       INSERT INTO acc SELECT g, g % 6, g % 11 FROM generate_series(501, 520) g;
       DELETE FROM acc WHERE id % 9 = 0;
       INSERT INTO branch VALUES (5, 'five');
       UPDATE branch SET name = 'renamed' WHERE branch = 1;
       COMMIT" >/dev/null
}
# psql_file DB FILE LOG: runs FILE as the README does (psql -d DB -f FILE),
# keeping its messages in LOG; true when no ERROR was printed.
psql_file() {
  psql -X -q -d "$1" -f "$2" >"$3" 2>&1 || return 1
  ! grep -q "ERROR" "$3"
}
show_log() { sed 's/^/    /' "$1" | grep -m 10 -B 2 ERROR >&2 || true; }

# --- the source database ------------------------------------------------------------
sql_postgres "CREATE DATABASE $SRC" >/dev/null
sql "CREATE EXTENSION pg_ivmx" >/dev/null
sql "CREATE SCHEMA reports" >/dev/null
sql "CREATE TABLE branch (branch int PRIMARY KEY, name text NOT NULL)" >/dev/null
sql "CREATE TABLE acc (id int PRIMARY KEY, branch int NOT NULL, bal int NOT NULL)" >/dev/null
sql "INSERT INTO branch SELECT g, 'b' || g FROM generate_series(0, 4) g" >/dev/null
sql "INSERT INTO acc SELECT g, g % 5, g % 13 FROM generate_series(1, 300) g" >/dev/null
sql "SELECT ivmx.create_immv('acc_totals',
       'SELECT branch, count(*) AS n, sum(bal) AS total, max(bal) AS hi FROM acc GROUP BY branch')" >/dev/null
sql "SELECT ivmx.create_immv('reports.\"Distinct Bal\"', 'SELECT DISTINCT branch, bal % 3 AS m FROM acc')" >/dev/null
sql "SET client_min_messages = warning;
     SELECT ivmx.create_immv('acc_named',
       'SELECT b.name, a.id, a.bal FROM acc a JOIN branch b ON a.branch = b.branch')" >/dev/null
sql "SELECT ivmx.create_immv('branch_stats',
       'SELECT b.name, count(*) AS n, sum(a.bal) AS total FROM acc a JOIN branch b USING (branch) GROUP BY b.name',
       mode => 'deferred')" >/dev/null
sql "SELECT ivmx.create_immv('all_totals', 'SELECT count(*) AS branches, sum(total) AS total FROM acc_totals')" >/dev/null
sql "SELECT ivmx.create_immv('stats_summary', 'SELECT count(*) AS names, sum(n) AS n FROM branch_stats',
       mode => 'deferred')" >/dev/null
sql "SELECT ivmx.create_immv('bal_slots',
       'SELECT a.branch, s.slot, count(*) AS n FROM acc a, generate_series(0, 2) AS s(slot)
         WHERE a.bal % 3 = s.slot GROUP BY a.branch, s.slot', mode => 'deferred')" >/dev/null
sql "SELECT ivmx.create_immv('constants', 'SELECT 1 AS one, ''x''::text AS t')" >/dev/null
# HAVING and count(DISTINCT): tables kept beside the IMMV are dumped as plain
# tables; restore_immv makes them anew.
sql "SELECT ivmx.create_immv('branch_report',
       'SELECT branch, count(DISTINCT bal) AS kinds, sum(bal) AS total FROM acc GROUP BY branch HAVING sum(bal) > 1200')" >/dev/null
# EXCEPT ALL: each row's count per operand kept beside the IMMV, rows
# repeated in the IMMV.
sql "SELECT ivmx.create_immv('bal_except',
       'SELECT branch, bal % 4 AS r FROM acc EXCEPT ALL SELECT branch, 1 FROM branch')" >/dev/null
sql "UPDATE acc SET bal = bal * 2 WHERE id % 7 = 0" >/dev/null
sql "DELETE FROM acc WHERE id % 17 = 0" >/dev/null
sql "SELECT ivmx.flush()" >/dev/null
check "source: every IMMV equals its query" poll "$(verify_all)" "$(all_zero)"
check "source: ten IMMVs" poll "SELECT count(*) FROM ivmx.immvs" 10
contents >"$WORK/src_contents"
sql "$(modes)" >"$WORK/src_modes"

# --- dump and restore, as the README says -------------------------------------------
psql -X -At -d "$SRC" -c 'SELECT * FROM ivmx.get_restore_immv_commands()' >"$WORK/restore_immvs.sql"
if grep -q "set_mode" "$WORK/restore_immvs.sql" && [[ $(grep -c "restore_immv" "$WORK/restore_immvs.sql") == 10 ]]; then
  pass "get_restore_immv_commands: one restore_immv per IMMV, set_mode for the deferred ones"
else
  fail "get_restore_immv_commands: one restore_immv per IMMV, set_mode for the deferred ones"
  sed 's/^/    /' "$WORK/restore_immvs.sql" >&2
fi
pg_dump -d "$SRC" >"$WORK/src.sql"
sql_postgres "CREATE DATABASE $DST" >/dev/null
if psql_file "$DST" "$WORK/src.sql" "$WORK/dump.log"; then
  pass "the dump restores without errors"
else
  fail "the dump restores without errors"
  show_log "$WORK/dump.log"
fi
if psql_file "$DST" "$WORK/restore_immvs.sql" "$WORK/restore.log"; then
  pass "the restore commands run without errors"
else
  fail "the restore commands run without errors"
  show_log "$WORK/restore.log"
fi

db=$DST
check "restored: the same IMMVs with the same modes, populated" \
  test "$(sql "$(modes)" 2>&1)" == "$(cat "$WORK/src_modes")"
check "restored: every IMMV equals its query" poll "$(verify_all)" "$(all_zero)"
contents >"$WORK/dst_contents" 2>&1 || true
check "restored: every IMMV has the rows it had in the source" cmp -s "$WORK/src_contents" "$WORK/dst_contents"
check "restored: a scheduler runs in the new database" poll \
  "SELECT count(*) = current_setting('ivmx.max_workers_per_database')::int FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = current_database()" t
refused=$(sql "DELETE FROM acc_totals" 2>&1 || true)
if [[ $refused == *"cannot change incrementally maintainable"* ]]; then
  pass "restored: a direct write to an IMMV is refused"
else
  fail "restored: a direct write to an IMMV is refused"
fi

write_some
check "restored: immediate IMMVs are maintained" poll \
  "SELECT bool_and(ivmx.verify_immv(immv) = 0) FROM ivmx.immvs WHERE mode = 'immediate'" t 1
for view in "${DEFERRED[@]}"; do
  check "restored: the scheduler brings $view up to date" poll "$(caught_up "$view")" t
done
sql "UPDATE acc SET bal = bal - 1 WHERE branch = 2" >/dev/null
sql "DELETE FROM branch WHERE branch = 0" >/dev/null
sql "SELECT ivmx.flush()" >/dev/null
check "restored: after more writes and ivmx.flush() every IMMV equals its query" \
  poll "$(verify_all)" "$(all_zero)" 1
check "restored: the deferred IMMVs have nothing pending" poll \
  "SELECT sum(pending_rows) FROM ivmx.immv_status WHERE mode = 'deferred'" 0 1
check "restored: the source database was left alone" \
  test "$(db=$SRC contents 2>&1)" == "$(cat "$WORK/src_contents")"

# --- changes a deferred IMMV had not applied when the dump was taken ----------------
# Its rows lag behind the dumped base tables and the delta logs are not dumped:
# the restore commands recompute it and the IMMVs downstream of it.
db=$SRC
sql "SELECT ivmx.flush()" >/dev/null
sql "SELECT ivmx.set_refresh_interval(immv, '1 hour') FROM ivmx.immvs WHERE mode = 'deferred'" >/dev/null
sql "UPDATE acc SET bal = bal + 100 WHERE branch = 1" >/dev/null
check "pending: the source has changes its deferred IMMV has not applied" \
  poll "SELECT pending_rows > 0 FROM ivmx.immv_status WHERE immv = 'branch_stats'::regclass" t 1
psql -X -At -d "$SRC" -c 'SELECT * FROM ivmx.get_restore_immv_commands()' >"$WORK/restore_pending.sql"
pg_dump -d "$SRC" >"$WORK/pending.sql"
sql_postgres "CREATE DATABASE $PENDING" >/dev/null
if psql_file "$PENDING" "$WORK/pending.sql" "$WORK/pending_dump.log" &&
  psql_file "$PENDING" "$WORK/restore_pending.sql" "$WORK/pending_restore.log"; then
  pass "pending: dump and restore commands run without errors"
else
  fail "pending: dump and restore commands run without errors"
  show_log "$WORK/pending_dump.log"
  show_log "$WORK/pending_restore.log"
fi
db=$PENDING
check "pending: right after the restore every IMMV equals its query" poll "$(verify_all)" "$(all_zero)" 1
sql "UPDATE acc SET bal = bal - 100 WHERE branch = 1" >/dev/null
sql "SELECT ivmx.flush()" >/dev/null
check "pending: and stays so under maintenance" poll "$(verify_all)" "$(all_zero)" 1
db=$SRC
sql "SELECT ivmx.set_refresh_interval(immv, NULL) FROM ivmx.immvs WHERE mode = 'deferred'" >/dev/null

# --- schema only: the IMMVs recreated with get_create_immv_commands() -----------------
db=$SRC
psql -X -At -d "$SRC" -c 'SELECT * FROM ivmx.get_create_immv_commands()' >"$WORK/create_immvs.sql"
if [[ $(grep -c "create_immv" "$WORK/create_immvs.sql") == 10 ]] &&
  [[ $(grep -c "mode => 'deferred'" "$WORK/create_immvs.sql") == 3 ]]; then
  pass "get_create_immv_commands: one create_immv per IMMV, with its mode"
else
  fail "get_create_immv_commands: one create_immv per IMMV, with its mode"
  sed 's/^/    /' "$WORK/create_immvs.sql" >&2
fi
# The IMMV tables are left out of the dump: create_immv makes them.
exclude=()
for view in "${IMMVS[@]}"; do
  exclude+=(--exclude-table="$(sql "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
                                      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = '$view'::regclass")")
done
# So are the tables create_immv keeps beside them.
exclude+=(--exclude-table='*.*__ivm_*')
pg_dump --schema-only "${exclude[@]}" -d "$SRC" >"$WORK/schema.sql"
sql_postgres "CREATE DATABASE $SCHEMA_ONLY" >/dev/null
if psql_file "$SCHEMA_ONLY" "$WORK/schema.sql" "$WORK/schema_dump.log" &&
  psql_file "$SCHEMA_ONLY" "$WORK/create_immvs.sql" "$WORK/schema_create.log"; then
  pass "schema only: dump and create commands run without errors"
else
  fail "schema only: dump and create commands run without errors"
  show_log "$WORK/schema_dump.log"
  show_log "$WORK/schema_create.log"
fi
db=$SCHEMA_ONLY
check "schema only: the same IMMVs with the same modes" \
  test "$(sql "$(modes)" 2>&1)" == "$(cat "$WORK/src_modes")"
sql "INSERT INTO branch SELECT g, 'b' || g FROM generate_series(0, 4) g" >/dev/null
sql "INSERT INTO acc SELECT g, g % 5, g % 13 FROM generate_series(1, 300) g" >/dev/null
write_some
for view in "${DEFERRED[@]}"; do
  check "schema only: the scheduler brings $view up to date" poll "$(caught_up "$view")" t
done
sql "SELECT ivmx.flush()" >/dev/null
check "schema only: every IMMV equals its query after loading data" poll "$(verify_all)" "$(all_zero)" 1

echo "$passed passed, $failed failed"
((failed == 0))
