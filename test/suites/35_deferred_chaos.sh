#!/usr/bin/env bash
# Chaos test of deferred maintenance. A database of its own holds four base
# tables (customers, products, orders, events: integer keys without foreign
# keys, a numeric column, NULLs; events has no primary key) and 23 IMMVs of
# every supported shape, most of them deferred: grouped count/sum/avg/min/max,
# DISTINCT, bags with and without the primary key (also over the small,
# often updated customers and products), inner joins of two and
# three tables, a LEFT JOIN, EXISTS, NOT EXISTS, a global aggregate, a grouped
# LEFT JOIN, HAVING with count(DISTINCT) over one table and a join, an EXCEPT ALL and
# a UNION-INTERSECT tree of set operations, and
# nested chains in mixed modes (b1 over orders, deferred ->
# b2 = b1 LEFT JOIN products, immediate -> b3 grouped over b2, deferred; and
# an immediate filter over a deferred aggregate).
#
# For CHAOS_SECONDS, CHAOS_WRITERS writer sessions (bash + psql, one psql per
# transaction) run random transactions: blocks of 1-5 INSERT/UPDATE/DELETE
# over several tables, some ended by ROLLBACK, some with SAVEPOINT and
# ROLLBACK TO / RELEASE, and single statements in autocommit; a fifth of
# the keys chosen are one of three hot ones per table. Every block
# inserts its id into the table audit; the ids of blocks whose COMMIT was
# acknowledged are logged (and those rolled back), as are the (negative,
# never changed afterwards) keys of acknowledged autocommit order inserts.
# Writers lock rows in one global order (table, then key), so that they
# cannot deadlock among themselves over base-table rows: a deadlock a writer
# sees is sorted by its cause (see classify_deadlocks), and one that
# maintenance caused is a finding.
#
# Meanwhile the real scheduler refreshes the deferred IMMVs (nothing calls
# ivmx.flush during the chaos), and a chaos loop, every 0.5-1 s, randomly:
# switches an IMMV's mode (ivmx.set_mode), or both levels of a chain 0.5-1 s
# apart (half of the switches bring an IMMV back to its initial mode, so
# that most stay deferred); changes ivmx.max_batch_rows (down to 1; a
# random value from the start), ivmx.refresh_delay, ivmx.naptime,
# ivmx.full_refresh_ratio or ivmx.max_workers_per_database with ALTER
# SYSTEM and pg_reload_conf(), or
# turns ivmx.enabled off for 1.5-3 s (a backlog builds up, then drains, in
# small batches half of the time); recomputes an IMMV (ivmx.refresh_immv);
# kills a scheduler or a writer's backend with SIGKILL (the postmaster then
# restarts every backend; writers reconnect, and a transaction cut by the
# crash counts as not acknowledged); pauses the writers for 2.5 s (a lull, so
# that deferred IMMVs catch up and get checked); and once stops the server
# with pg_ctl stop -m immediate and starts it again.
#
# A probe session checks, about every second, in one REPEATABLE READ
# snapshot taken after locking every IMMV and delta log (so that no
# TRUNCATE can commit in between), that every IMMV without pending log rows
# equals its query (ivmx.verify_immv = 0): an IMMV that is wrong for a
# while and repaired later is caught too. Pending rows are counted from the
# watermark and the logs as that snapshot sees them (ivmx.pending_changes
# reads the watermark of the latest committed refresh instead).
#
# At the end: the GUCs are reset, the scheduler alone must catch up (every
# pending_rows 0 within CATCHUP_SECONDS; ivmx.flush() is the fallback), every
# IMMV must equal its query and be in state ok, no acknowledged commit may be
# missing and no rolled-back one present, writers must have seen no error but
# the crashes', deadlocks and serialization failures (statement timeouts and
# other errors are findings), no deadlock a writer saw may have been caused
# by maintenance (an IMMV's or ivmx's lock in the cycle, a process waiting at
# COMMIT, a scheduler; those with a chaos statement and the workload's own
# are counted), and the part of the server log written meanwhile
# must hold no PANIC, TRAP, failed assertion or crash by a signal other than
# our SIGKILLs. Counts of what happened are printed.
#
# Knobs: CHAOS_SEED (printed first; it fixes every random choice, not the
# interleaving), CHAOS_SECONDS (chaos phase, default 80: the suite takes
# about 1.5-2 minutes on 2 cores), CHAOS_WRITERS (5), CATCHUP_SECONDS (30).
# The work directory (chaos actions with timestamps, writer errors with their
# transactions, every writer deadlock with its cause, probe findings, the
# server log) is kept when a check fails.
#
# Run by test/run_all.sh against its cluster (PGHOST/PGPORT/PGUSER and
# CLUSTER_DATA/CLUSTER_LOG exported), which is running again, with the GUCs
# this suite changed reset, when it ends; run alone, it starts a throwaway
# cluster (test/lib/cluster.sh). Prints one line per check and
# "N passed, M failed"; exits non-zero on any failure.
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
DATA=${CLUSTER_DATA:-$(psql -X -A -t -d postgres -c "SHOW data_directory")}
LOG=${CLUSTER_LOG:-$DATA/../chaos_suite_server.log}

SEED=${CHAOS_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
CHAOS_SECONDS=${CHAOS_SECONDS:-80}
WRITERS=${CHAOS_WRITERS:-5}
CATCHUP_SECONDS=${CATCHUP_SECONDS:-30}
WRITER_TIMEOUT=20 # statement_timeout of the writers: a longer wait is a hang
DB=ivmx_chaos_$$
WORK=$(mktemp -d /tmp/ivmx_chaos.XXXXXX)
chmod 755 "$WORK"
touch "$WORK/driver_pids" "$WORK/scheduler_pids"
passed=0
failed=0
bg_pids=()

GUCS=(ivmx.max_batch_rows ivmx.refresh_delay ivmx.naptime ivmx.full_refresh_ratio ivmx.enabled
  ivmx.max_workers_per_database)

sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
sql_postgres() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -c "$1"; }

# Milliseconds since the chaos phase started (since the script started before).
T0=${EPOCHREALTIME/./}
elapsed_ms() { local now=${EPOCHREALTIME/./}; echo $(((now - T0) / 1000)); }
stamp() { local ms; ms=$(elapsed_ms); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }

# server_up [SECONDS]: true once the server accepts connections to $DB.
server_up() {
  local end=$((SECONDS + ${1:-30}))
  while ((SECONDS < end)); do
    if pg_isready -q -h "$PGHOST" -p "$PGPORT" -t 1 && psql -X -q -A -t -d "$DB" -c "SELECT 1" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# Starts the server if it is down; retried while the port is still taken.
start_server() {
  local _
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    pg_isready -q -h "$PGHOST" -p "$PGPORT" -t 2 && return 0
    if cluster_as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

reset_gucs() {
  local g args=()
  for g in "${GUCS[@]}"; do args+=(-c "ALTER SYSTEM RESET $g"); done
  psql -X -q -d postgres "${args[@]}" -c "SELECT pg_reload_conf()" >/dev/null 2>&1
}

keep_work=false
cleanup() {
  local pid
  touch "$WORK/stop" 2>/dev/null || true
  rm -f "$WORK/lull"
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${bg_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  start_server || true
  server_up 30 >/dev/null 2>&1 || true
  reset_gucs || true
  sql_postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  if $own_cluster; then cluster_stop; fi
  if $keep_work; then
    echo "    details kept in $WORK (actions.log, writer_errors.log, deadlocks.log, probe.log, server.log)"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

echo "    seed $SEED (CHAOS_SEED=$SEED to repeat the choices), chaos phase ${CHAOS_SECONDS} s, $WRITERS writers"
LOG_OFFSET=$(stat -c %s "$LOG" 2>/dev/null || echo 0)

# --- set-up --------------------------------------------------------------------
reset_gucs
sql_postgres "CREATE DATABASE $DB" >/dev/null
N_CUST=80 N_PROD=40 N_ORD=1500 N_EV=300
sql "CREATE EXTENSION pg_ivmx" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<EOF
SELECT setseed(($SEED % 1999) / 1000.0 - 0.999);
CREATE TABLE customers (id serial PRIMARY KEY, region int, tier int NOT NULL, name text);
CREATE TABLE products (id serial PRIMARY KEY, category int, price numeric(10,2));
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, product_id int, qty int,
                     amount numeric(12,2), status int NOT NULL);
CREATE TABLE events (eid bigserial, customer_id int, kind int NOT NULL, val numeric);
CREATE TABLE audit (id bigint PRIMARY KEY, writer int NOT NULL, nops int NOT NULL,
                    at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE INDEX ON orders (customer_id);
CREATE INDEX ON orders (product_id);
CREATE INDEX ON events (eid);
CREATE INDEX ON events (customer_id);
INSERT INTO customers
  SELECT g, CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 5)::int END,
         1 + (random() * 2)::int, 'c' || g
    FROM generate_series(1, $N_CUST) g;
INSERT INTO products
  SELECT g, CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 7)::int END,
         CASE WHEN random() < 0.1 THEN NULL ELSE round((random() * 300)::numeric, 2) END
    FROM generate_series(1, $N_PROD) g;
INSERT INTO orders
  SELECT g, CASE WHEN random() < 0.08 THEN NULL ELSE 1 + (random() * ($N_CUST + 4))::int END,
         CASE WHEN random() < 0.08 THEN NULL ELSE 1 + (random() * ($N_PROD + 2))::int END,
         CASE WHEN random() < 0.1 THEN NULL ELSE 1 + (random() * 8)::int END,
         CASE WHEN random() < 0.1 THEN NULL ELSE round((random() * 1000 - 100)::numeric, 2) END,
         (random() * 3)::int
    FROM generate_series(1, $N_ORD) g;
INSERT INTO events (eid, customer_id, kind, val)
  SELECT g, CASE WHEN random() < 0.1 THEN NULL ELSE 1 + (random() * $N_CUST)::int END,
         (random() * 4)::int,
         CASE WHEN random() < 0.15 THEN NULL ELSE round((random() * 50)::numeric, 1) END
    FROM generate_series(1, $N_EV) g;
SELECT setval('customers_id_seq', $N_CUST), setval('products_id_seq', $N_PROD),
       setval('orders_id_seq', $N_ORD), setval('events_eid_seq', $N_EV);
ANALYZE;
-- The probe's count of the log rows a deferred IMMV has not applied, read
-- entirely in the caller's snapshot (ivmx.pending_changes reads the
-- watermark from the latest catalog row instead).
CREATE FUNCTION chaos_pending(v oid) RETURNS bigint LANGUAGE plpgsql AS \$f\$
DECLARE
  w text; px text; ps bigint; cond text; log regclass; c bigint; n bigint := 0;
BEGIN
  SELECT watermark::text, partial_xid::text, coalesce(partial_seq, 0) INTO w, px, ps
    FROM ivmx.immv WHERE immvrelid = v;
  IF coalesce(w, '') = '' THEN RETURN NULL; END IF;
  cond := format('NOT pg_visible_in_snapshot(__ivm_xid, %L::pg_snapshot)', w);
  IF px IS NOT NULL THEN
    cond := cond || format(' OR (__ivm_xid = %L::xid8 AND __ivm_seq > %s)', px, ps);
  END IF;
  FOR log IN SELECT l.logrelid FROM ivmx.immv_dependency d JOIN ivmx.delta_log l ON l.relid = d.relid
              WHERE d.immvrelid = v LOOP
    EXECUTE format('SELECT count(*) FROM %s WHERE %s', log, cond) INTO c;
    n := n + c;
  END LOOP;
  RETURN n;
END
\$f\$;
EOF

# name|mode|definition, upstream IMMVs first.
IMMV_DEFS=(
  "o_by_cust|deferred|SELECT customer_id, count(*) AS n, count(qty) AS nq, sum(qty) AS sq, sum(amount) AS total, avg(amount) AS avg_amount, min(amount) AS lo, max(amount) AS hi FROM orders GROUP BY customer_id"
  "p_by_cat|immediate|SELECT category, count(*) AS n, sum(price) AS total, max(price) AS hi FROM products GROUP BY category"
  "c_regions|deferred|SELECT DISTINCT region, tier FROM customers"
  "p_priced|deferred|SELECT id, category, price FROM products WHERE price > 10"
  "c_bag|deferred|SELECT region, tier FROM customers WHERE tier > 1"
  "o_qty|deferred|SELECT customer_id, qty FROM orders WHERE qty > 2"
  "e_bag|deferred|SELECT customer_id, kind, val FROM events WHERE kind <> 0"
  "oc_join|deferred|SELECT o.id, c.id AS cid, c.region, o.amount FROM orders o JOIN customers c ON c.id = o.customer_id"
  "region_sales|deferred|SELECT c.region, count(*) AS n, sum(o.amount) AS total, min(o.qty) AS minq, max(o.qty) AS maxq FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.region"
  "cat_tier|deferred|SELECT p.category, c.tier, count(*) AS n, sum(o.qty) AS q FROM orders o JOIN customers c ON c.id = o.customer_id JOIN products p ON p.id = o.product_id GROUP BY p.category, c.tier"
  "c_left|deferred|SELECT c.id, c.region, o.id AS oid, o.amount FROM customers c LEFT JOIN orders o ON o.customer_id = c.id"
  "c_active|deferred|SELECT c.id, c.tier FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.status = 1)"
  "p_unsold|deferred|SELECT p.id, p.category FROM products p WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.product_id = p.id)"
  "o_total|deferred|SELECT count(*) AS n, sum(amount) AS total, min(amount) AS lo, max(amount) AS hi, avg(qty) AS avg_qty FROM orders"
  "e_by_kind|deferred|SELECT e.kind, count(*) AS n, sum(e.val) AS total, count(c.id) AS matched FROM events e LEFT JOIN customers c ON c.id = e.customer_id GROUP BY e.kind"
  "b1|deferred|SELECT id, customer_id, product_id, amount FROM orders WHERE status <> 2"
  "b2|immediate|SELECT b1.id, b1.amount, p.id AS pid, p.category FROM b1 LEFT JOIN products p ON p.id = b1.product_id"
  "b3|deferred|SELECT category, count(*) AS n, sum(amount) AS total FROM b2 GROUP BY category"
  "big_cust|immediate|SELECT customer_id, total FROM o_by_cust WHERE n > 1"
  "o_report|deferred|SELECT customer_id, count(DISTINCT product_id) AS products, sum(amount) / nullif(count(*), 0) AS avg_ticket FROM orders GROUP BY customer_id HAVING count(*) > 1"
  "region_buyers|deferred|SELECT c.region, count(DISTINCT o.customer_id) AS buyers, sum(DISTINCT o.qty) AS qtys FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.region HAVING sum(o.qty) > 0"
  "cust_unmatched|deferred|SELECT customer_id FROM orders WHERE qty > 1 EXCEPT ALL SELECT customer_id FROM events WHERE kind <> 0"
  "cust_touch|deferred|SELECT customer_id, 'order' AS src FROM orders UNION SELECT customer_id, 'event' FROM events INTERSECT SELECT id, 'event' FROM customers"
)
IMMVS=()
INITIAL_MODES=
CHAINS=("b1 b2" "b2 b3" "o_by_cust big_cust" "b1 b3")
created=0
for entry in "${IMMV_DEFS[@]}"; do
  name=${entry%%|*} rest=${entry#*|}
  mode=${rest%%|*} def=${rest#*|}
  IMMVS+=("$name")
  INITIAL_MODES+="${INITIAL_MODES:+, }('$name', '$mode')"
  if sql "SET client_min_messages = warning; SELECT ivmx.create_immv('$name', \$q\$$def\$q\$, mode => '$mode')" >/dev/null; then
    created=$((created + 1))
  else
    echo "    could not create $name: $def" >&2
  fi
done
check "$created of ${#IMMVS[@]} IMMVs created ($(sql "SELECT count(*) FROM ivmx.immv WHERE mode = 'deferred'") deferred)" \
  test "$created" -eq "${#IMMVS[@]}"
check "every IMMV equals its query at the start" poll \
  "SELECT bool_and(ivmx.verify_immv(immv) = 0) FROM ivmx.immv_status" t
check "a scheduler runs in the database" poll \
  "SELECT count(*) = coalesce(current_setting('ivmx.max_workers_per_database', true)::int, 1) FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = current_database()" t 20

# --- writers ---------------------------------------------------------------------
KEYS_QUERY="SELECT (SELECT last_value FROM customers_id_seq), (SELECT last_value FROM products_id_seq), (SELECT last_value FROM orders_id_seq), (SELECT last_value FROM events_eid_seq)"
INF=999999999

# Random values, in the variable v (no subshell: $RANDOM must advance).
money() {
  v="$((RANDOM % 1000)).$((RANDOM % 4 * 25))"
  if ((RANDOM % 10 == 0)); then v="-$v"; fi
  if ((RANDOM % 10 == 0)); then v=NULL; fi
}
nullable() { # nullable ONE_IN EXPR
  if ((RANDOM % $1 == 0)); then v=NULL; else v=$2; fi
}
# A key in 1..$1; one in five is one of the three hot keys, so that
# transactions often change the same rows and commit in another order than
# they started.
key() {
  if ((RANDOM % 5 == 0)); then v=$((1 + RANDOM % 3)); else v=$((1 + (RANDOM << 15 | RANDOM) % $1)); fi
}

# gen_op: appends one statement "rank|key|sql" to ops. Rows are locked in the
# order (rank, key); inserts (fresh keys) come after a table's other rows; the
# update of all the orders of a customer locks them in key order (FOR UPDATE
# under ORDER BY) and is its transaction's only change to existing orders.
gen_op() {
  local r=$((RANDOM % 100)) k
  if ((r < 15)); then # customers
    r=$((RANDOM % 100))
    if ((r < 35)); then
      nullable 8 $((RANDOM % 6))
      ops+=("1|$INF|INSERT INTO customers (region, tier, name) VALUES ($v, $((1 + RANDOM % 3)), 'w$RANDOM')")
    elif ((r < 80)); then
      key "$max_c"; k=$v
      nullable 8 $((RANDOM % 6))
      ops+=("1|$k|UPDATE customers SET region = $v, tier = $((1 + RANDOM % 3)) WHERE id = $k")
    else
      key "$max_c"
      ops+=("1|$v|DELETE FROM customers WHERE id = $v")
    fi
  elif ((r < 25)); then # products
    r=$((RANDOM % 100))
    if ((r < 35)); then
      nullable 10 $((RANDOM % 8)); local cat=$v
      money
      ops+=("2|$INF|INSERT INTO products (category, price) VALUES ($cat, $v)")
    elif ((r < 80)); then
      key "$max_p"; k=$v
      if ((RANDOM % 2)); then
        nullable 10 $((RANDOM % 8))
        ops+=("2|$k|UPDATE products SET category = $v WHERE id = $k")
      else
        money
        ops+=("2|$k|UPDATE products SET price = $v WHERE id = $k")
      fi
    else
      key "$max_p"
      ops+=("2|$v|DELETE FROM products WHERE id = $v")
    fi
  elif ((r < 75)); then # orders
    r=$((RANDOM % 100))
    if ((r < 5 && ! has_multi)); then
      has_multi=1
      key $((max_c + 4))
      ops+=("3|-1|UPDATE orders SET amount = amount + 1.25, qty = qty + 1 WHERE id IN (SELECT id FROM orders WHERE customer_id = $v ORDER BY id FOR UPDATE)")
    elif ((r < 40)); then
      local vals=() n=$((1 + RANDOM % 3)) i c p q
      for ((i = 0; i < n; i++)); do
        key $((max_c + 4)); nullable 10 "$v"; c=$v
        key $((max_p + 2)); nullable 10 "$v"; p=$v
        nullable 8 $((1 + RANDOM % 9)); q=$v
        money
        vals+=("($c, $p, $q, $v, $((RANDOM % 4)))")
      done
      local IFS=,
      ops+=("3|$INF|INSERT INTO orders (customer_id, product_id, qty, amount, status) VALUES ${vals[*]}")
    elif ((r < 85)); then
      key "$max_o"; k=$v
      case $((RANDOM % 6)) in
        0) key $((max_c + 4)); nullable 10 "$v"; ops+=("3|$k|UPDATE orders SET customer_id = $v WHERE id = $k") ;;
        1) money; ops+=("3|$k|UPDATE orders SET amount = $v WHERE id = $k") ;;
        2) ops+=("3|$k|UPDATE orders SET amount = amount + $((RANDOM % 50 - 25)).5, qty = qty + 1 WHERE id = $k") ;;
        3) ops+=("3|$k|UPDATE orders SET status = $((RANDOM % 4)) WHERE id = $k") ;;
        4) key $((max_p + 2)); nullable 10 "$v"; ops+=("3|$k|UPDATE orders SET product_id = $v WHERE id = $k") ;;
        5) nullable 5 $((1 + RANDOM % 9)); ops+=("3|$k|UPDATE orders SET qty = $v, status = $((RANDOM % 4)) WHERE id = $k") ;;
      esac
    else
      key "$max_o"
      ops+=("3|$v|DELETE FROM orders WHERE id = $v")
    fi
  else # events (no primary key; eid is unique in practice)
    r=$((RANDOM % 100))
    if ((r < 40)); then
      local vals=() n=$((1 + RANDOM % 3)) i c
      for ((i = 0; i < n; i++)); do
        key "$max_c"; nullable 10 "$v"; c=$v
        nullable 6 "$((RANDOM % 50)).$((RANDOM % 10))"
        vals+=("($c, $((RANDOM % 4)), $v)")
      done
      local IFS=,
      ops+=("4|$INF|INSERT INTO events (customer_id, kind, val) VALUES ${vals[*]}")
    elif ((r < 75)); then
      key "$max_e"; k=$v
      if ((RANDOM % 2)); then
        ops+=("4|$k|UPDATE events SET kind = $((RANDOM % 4)) WHERE eid = $k")
      else
        nullable 6 "$((RANDOM % 50)).$((RANDOM % 10))"
        ops+=("4|$k|UPDATE events SET val = $v WHERE eid = $k")
      fi
    else
      key "$max_e"
      ops+=("4|$v|DELETE FROM events WHERE eid = $v")
    fi
  fi
}

# gen_txn W ID: sets txn (the SQL) and txn_kind: commit, rollback, single
# (one statement in autocommit) or single_insert (an order with the key -ID,
# which no writer changes afterwards).
gen_txn() {
  local w=$1 id=$2 n i line s sorted=()
  ops=()
  has_multi=0
  if ((RANDOM % 100 < 20)); then
    if ((RANDOM % 3 == 0)); then
      local c p q
      key $((max_c + 4)); c=$v
      key $((max_p + 2)); p=$v
      nullable 8 $((1 + RANDOM % 9)); q=$v
      money
      txn="INSERT INTO orders (id, customer_id, product_id, qty, amount, status) VALUES (-$id, $c, $p, $q, $v, $((RANDOM % 4)));"
      txn_kind=single_insert
    else
      gen_op
      s=${ops[0]#*|}
      txn="${s#*|};"
      txn_kind=single
    fi
    return 0
  fi
  n=$((1 + RANDOM % 5))
  for ((i = 0; i < n; i++)); do gen_op; done
  mapfile -t sorted < <(printf '%s\n' "${ops[@]}" | sort -t'|' -k1,1n -k2,2n)
  txn="BEGIN;"$'\n'
  for line in "${sorted[@]}"; do
    # The update of a customer's orders excludes other changes to orders.
    if ((has_multi)) && [[ $line == 3\|* && $line != 3\|-1\|* && $line != "3|$INF|"* ]]; then continue; fi
    s=${line#*|}
    s=${s#*|}
    i=$((RANDOM % 100))
    if ((i < 12)); then
      txn+="SAVEPOINT s; $s; ROLLBACK TO SAVEPOINT s;"$'\n'
    elif ((i < 17)); then
      txn+="SAVEPOINT s; $s; RELEASE SAVEPOINT s;"$'\n'
    else
      txn+="$s;"$'\n'
    fi
  done
  txn+="INSERT INTO audit (id, writer, nops) VALUES ($id, $w, $n);"$'\n'
  txn+="$KEYS_QUERY;"$'\n'
  if ((RANDOM % 100 < 12)); then
    txn+="ROLLBACK;"
    txn_kind=rollback
  else
    txn+="COMMIT;"
    txn_kind=commit
  fi
}

# classify FILE: sets cls (crash: the connection was lost or refused, the
# server restarted; conflict: 40P01/40001; timeout: 57014; error: anything
# else) and code (the SQLSTATE, if any).
classify() {
  code=$(grep -o -m1 -E '(ERROR|FATAL|PANIC):  [0-9A-Z]{5}' "$1" | awk '{ print $2 }' || true)
  if [[ $code == 57P0* || $code == 08* ]] ||
    grep -q -E 'server closed the connection|connection to server|no connection to the server|could not (send|receive) data|terminating connection|the database system is|Connection refused|SSL SYSCALL' "$1"; then
    cls=crash
  elif [[ $code == 40P01 || $code == 40001 ]]; then
    cls=conflict
  elif [[ $code == 57014 ]]; then
    cls=timeout
  else
    cls=error
  fi
}

# writer W: runs transactions until $WORK/stop exists. Logs one line per
# transaction to $WORK/w$W.log: "ID KIND OUTCOME ELAPSED_MS" with OUTCOME
# committed, rolled_back, crash, conflict, timeout or error.
writer() {
  set +e
  local w=$1 seq=0 id out rc errf=$WORK/w$1.err logf=$WORK/w$1.log
  max_c=$N_CUST max_p=$N_PROD max_o=$N_ORD max_e=$N_EV
  RANDOM=$(((SEED * 31 + w * 7919) % 32768))
  export PGAPPNAME=chaos_writer_$w PGOPTIONS="-c statement_timeout=${WRITER_TIMEOUT}s"
  while [[ ! -e $WORK/stop ]]; do
    if [[ -e $WORK/lull ]]; then
      sleep 0.1
      continue
    fi
    seq=$((seq + 1))
    id=$((w * 100000000 + seq))
    gen_txn "$w" "$id"
    rc=0
    out=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" 2>"$errf" <<<"$txn") || rc=$?
    if ((rc == 0)); then
      case $txn_kind in
        commit) echo "$id commit committed $(elapsed_ms)" >>"$logf" ;;
        rollback) echo "$id rollback rolled_back $(elapsed_ms)" >>"$logf" ;;
        single_insert) echo "-$id single_insert committed $(elapsed_ms)" >>"$logf" ;;
        single) echo "0 single committed $(elapsed_ms)" >>"$logf" ;;
      esac
      if [[ $out =~ ^([0-9]+)\|([0-9]+)\|([0-9]+)\|([0-9]+)$ ]]; then
        max_c=${BASH_REMATCH[1]} max_p=${BASH_REMATCH[2]} max_o=${BASH_REMATCH[3]} max_e=${BASH_REMATCH[4]}
      fi
      continue
    fi
    classify "$errf"
    case $txn_kind in single_insert) id=-$id ;; single) id=0 ;; esac
    echo "$id $txn_kind $cls $(elapsed_ms) $code" >>"$logf"
    if [[ $cls == crash ]]; then
      sleep 0.$((2 + RANDOM % 4))
    else
      {
        echo "=== writer $w, $(stamp) s: $cls $code"
        cat "$errf"
        echo "--- transaction:"
        echo "$txn"
      } >>"$WORK/writer_errors.log"
    fi
  done
}

# --- the probe -------------------------------------------------------------------
# probe: about every second, in one REPEATABLE READ snapshot taken after
# locking every IMMV and delta log, verifies every IMMV that has no pending
# log rows in that snapshot (its watermark and its logs read in the snapshot). Logs "ELAPSED_MS name mode verify" per check to $WORK/probe.log
# and differences to $WORK/probe_findings.log.
probe() {
  set +e
  export PGAPPNAME=chaos_probe PGOPTIONS="-c lock_timeout=3s -c statement_timeout=20s"
  local rels out rc t name mode diff
  while [[ ! -e $WORK/stop ]]; do
    sleep 1
    rels=$(psql -X -q -A -t -d "$DB" -c "SELECT string_agg(r, ', ' ORDER BY r) FROM (
               SELECT immvrelid::regclass::text AS r FROM ivmx.immv
               UNION ALL SELECT logrelid::regclass::text FROM ivmx.delta_log) s" 2>/dev/null) || continue
    [[ -n $rels ]] || continue
    psql -X -q -A -t -d "$DB" -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler'" \
      >>"$WORK/scheduler_pids" 2>/dev/null
    t=$(elapsed_ms)
    rc=0
    out=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" 2>/dev/null <<EOF
BEGIN ISOLATION LEVEL REPEATABLE READ;
LOCK TABLE $rels IN ACCESS SHARE MODE;
SELECT 'rels|' || (SELECT string_agg(r, ', ' ORDER BY r) FROM (
         SELECT immvrelid::regclass::text AS r FROM ivmx.immv
         UNION ALL SELECT logrelid::regclass::text FROM ivmx.delta_log) s);
WITH s AS MATERIALIZED (
  SELECT immvrelid AS immv, mode, CASE WHEN mode = 'immediate' THEN 0 ELSE chaos_pending(immvrelid) END AS pending
    FROM ivmx.immv WHERE populated)
SELECT immv::regclass::text, mode, pending, CASE WHEN pending = 0 THEN ivmx.verify_immv(immv) END
  FROM s ORDER BY 1;
COMMIT;
EOF
    ) || rc=$?
    ((rc == 0)) || continue
    # A relation created between the listing and the lock: not a clean snapshot.
    [[ $(head -1 <<<"$out") == "rels|$rels" ]] || continue
    while IFS='|' read -r name mode _ diff; do
      [[ -n $diff ]] || continue
      echo "$t $name $mode $diff" >>"$WORK/probe.log"
      if [[ $diff != 0 ]]; then
        echo "$(stamp) s (snapshot at $t ms): $name ($mode, nothing pending) differs from its query by $diff rows" >>"$WORK/probe_findings.log"
      fi
    done < <(tail -n +2 <<<"$out")
  done
}

# --- the chaos loop ----------------------------------------------------------------
# act LABEL PSQL_ARGS...: runs one chaos statement, logs it to actions.log
# with its outcome (ok, down: the server was restarting, or err:SQLSTATE)
# and sets act_out to what it printed.
act() {
  local label=$1 rc=0 errf=$WORK/act.err
  shift
  act_out=$(PGAPPNAME=chaos_driver PGOPTIONS="-c statement_timeout=30s" \
    psql -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" \
    -c "SELECT 'pid:' || pg_backend_pid()" "$@" 2>"$errf") || rc=$?
  # Its backend's pid, to tell the deadlocks it takes part in.
  if [[ $act_out == pid:* ]]; then
    echo "${act_out%%$'\n'*}" | cut -c5- >>"$WORK/driver_pids"
    if [[ $act_out == *$'\n'* ]]; then act_out=${act_out#*$'\n'}; else act_out=; fi
  fi
  if ((rc == 0)); then
    act_outcome=ok
  else
    classify "$errf"
    if [[ $cls == crash ]]; then act_outcome=down; else act_outcome="err:$code"; fi
    if [[ $cls != crash ]]; then
      {
        echo "=== $(stamp) s: $label"
        cat "$errf"
      } >>"$WORK/chaos_errors.log"
    fi
  fi
  echo "$(stamp) $label ${act_out//$'\n'/ } $act_outcome" >>"$WORK/actions.log"
}

note() { echo "$(stamp) $*" >>"$WORK/actions.log"; }

set_mode() { # set_mode IMMV [MODE]: MODE, or the other mode
  local target="CASE mode WHEN 'deferred' THEN 'immediate' ELSE 'deferred' END"
  [[ -n ${2:-} ]] && target="'$2'"
  act "set_mode $1" -c "SELECT m FROM (SELECT $target AS m FROM ivmx.immv WHERE immvrelid = '$1'::regclass) s,
                             LATERAL ivmx.set_mode('$1', s.m) z"
}

# An IMMV out of its initial mode, at random (none: empty).
switched_immv() {
  psql -X -q -A -t -d "$DB" -c "SELECT v FROM (VALUES $INITIAL_MODES) m(v, mode)
      JOIN ivmx.immv i ON i.immvrelid = m.v::regclass AND i.mode <> m.mode ORDER BY random() LIMIT 1" 2>/dev/null
}

set_guc() {
  act "guc $1=$2" -c "ALTER SYSTEM SET $1 = '$2'" -c "SELECT pg_reload_conf()"
}

chaos_loop() {
  set +e
  RANDOM=$(((SEED * 17 + 12345) % 32768))
  local end_ms=$((CHAOS_SECONDS * 1000)) stop_at last_crash=-100000 lulls=0 now r pid v c a b
  # The immediate stop happens once, between 35 % and 65 % of the phase.
  stop_at=$((end_ms * (35 + RANDOM % 31) / 100))
  local batch=(1 1 2 3 5 10 50 100000) delay=(0 10ms 100ms 500ms) nap=(50ms 200ms 1s 3s)
  # Small batches from the start, most of the time.
  set_guc ivmx.max_batch_rows "${batch[RANDOM % ${#batch[@]}]}"
  local ratio=(0 0.2 0.2 0.9 0.001) workers=(1 2 3)
  while :; do
    now=$(elapsed_ms)
    ((now >= end_ms)) && break
    if ((stop_at >= 0 && now >= stop_at && now - last_crash >= 5000)); then
      stop_at=-1
      if cluster_as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1; then
        note "stop_immediate ok"
      else
        note "stop_immediate failed"
      fi
      sleep 0.5
      if start_server; then note "start ok"; else note "start failed"; fi
      server_up 30 >/dev/null 2>&1 && note "server up"
      last_crash=$(elapsed_ms)
      continue
    fi
    r=$((RANDOM % 100))
    # Crashes at least 6 s apart, so that most of the time things run.
    if ((r >= 72 && r < 87 && now - last_crash < 6000)); then r=$((RANDOM % 28)); fi
    if ((r >= 87 && r < 92 && lulls >= 4)); then r=$((RANDOM % 28)); fi
    if ((r < 28)); then
      # Half of the time an IMMV goes back to its initial mode, so that most
      # stay deferred.
      v=
      if ((RANDOM % 2)); then v=$(switched_immv); fi
      [[ -n $v ]] || v=${IMMVS[RANDOM % ${#IMMVS[@]}]}
      set_mode "$v"
    elif ((r < 43)); then
      c=${CHAINS[RANDOM % ${#CHAINS[@]}]}
      a=${c% *} b=${c#* }
      if ((RANDOM % 2)); then set_mode "$a"; else set_mode "$b"; fi
      sleep 0.$((5 + RANDOM % 5))
      if ((RANDOM % 2)); then set_mode "$b"; else set_mode "$a"; fi
    elif ((r < 63)); then
      case $((RANDOM % 8)) in
        0 | 1) set_guc ivmx.max_batch_rows "${batch[RANDOM % ${#batch[@]}]}" ;;
        2) set_guc ivmx.refresh_delay "${delay[RANDOM % ${#delay[@]}]}" ;;
        3) set_guc ivmx.naptime "${nap[RANDOM % ${#nap[@]}]}" ;;
        4) set_guc ivmx.full_refresh_ratio "${ratio[RANDOM % ${#ratio[@]}]}" ;;
        5) set_guc ivmx.max_workers_per_database "${workers[RANDOM % ${#workers[@]}]}" ;;
        6 | 7)
          # The scheduler paused for 1.5-3 s: a backlog builds up, then
          # drains (in small batches half of the time).
          set_guc ivmx.enabled off
          sleep "$((1 + RANDOM % 2)).$((5 + RANDOM % 5))"
          if ((RANDOM % 2)); then set_guc ivmx.max_batch_rows "${batch[RANDOM % 5]}"; fi
          set_guc ivmx.enabled on
          ;;
      esac
    elif ((r < 72)); then
      v=${IMMVS[RANDOM % ${#IMMVS[@]}]}
      act "refresh_immv $v" -c "SELECT ivmx.refresh_immv('$v', true)"
    elif ((r < 80)); then
      pid=$(psql -X -q -A -t -d "$DB" -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = current_database() ORDER BY random() LIMIT 1" 2>/dev/null)
      if [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; then
        note "kill_scheduler $pid ok"
        last_crash=$(elapsed_ms)
        sleep 0.5
        server_up 30 >/dev/null 2>&1 && note "server up"
      else
        note "kill_scheduler none"
      fi
    elif ((r < 87)); then
      pid=$(psql -X -q -A -t -d "$DB" -c "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
              AND application_name LIKE 'chaos_writer%' AND state IN ('active', 'idle in transaction')
              ORDER BY random() LIMIT 1" 2>/dev/null)
      if [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; then
        note "kill_writer $pid ok"
        last_crash=$(elapsed_ms)
        sleep 0.5
        server_up 30 >/dev/null 2>&1 && note "server up"
      else
        note "kill_writer none"
      fi
    elif ((r < 92)); then
      lulls=$((lulls + 1))
      note "lull start"
      touch "$WORK/lull"
      sleep 2.5
      rm -f "$WORK/lull"
      note "lull end"
    fi
    sleep 0.$((5 + RANDOM % 5))
  done
  return 0
}

# --- the chaos phase -------------------------------------------------------------------
T0=${EPOCHREALTIME/./}
for ((w = 1; w <= WRITERS; w++)); do
  writer "$w" &
  bg_pids+=($!)
done
probe &
bg_pids+=($!)
(chaos_loop) || true
note "chaos end"
touch "$WORK/stop"
rm -f "$WORK/lull"
# Writers end their transaction (WRITER_TIMEOUT at most) and stop.
stop_end=$((SECONDS + WRITER_TIMEOUT + 10))
for pid in "${bg_pids[@]}"; do
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < stop_end)); do sleep 0.2; done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
bg_pids=()
chaos_ms=$(elapsed_ms)

# --- catching up -------------------------------------------------------------------------
start_server || true
check "the server is up after the chaos" server_up 30
reset_gucs
check "the GUCs are back to their defaults" poll \
  "SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings WHERE name IN ('ivmx.max_batch_rows', 'ivmx.enabled')" \
  "ivmx.enabled=on,ivmx.max_batch_rows=100000" 10
check "a scheduler runs in the database" poll \
  "SELECT count(*) = coalesce(current_setting('ivmx.max_workers_per_database', true)::int, 1) FROM pg_stat_activity WHERE backend_type = 'pg_ivmx scheduler' AND datname = current_database()" t 20
catchup_start=$SECONDS
pending_q="SELECT coalesce(sum(pending_rows), 0) FROM ivmx.immv_status"
if poll "$pending_q" 0 "$CATCHUP_SECONDS" 2>/dev/null; then
  pass "the scheduler alone catches up (pending_rows 0 everywhere, $((SECONDS - catchup_start)) s)"
else
  fail "the scheduler alone catches up within ${CATCHUP_SECONDS} s" \
    "still pending: $(sql "SELECT string_agg(immv::regclass || ':' || pending_rows || ':' || state, ', ') FROM ivmx.immv_status WHERE pending_rows > 0" 2>&1)"
  sql "SET statement_timeout = '60s'; SELECT ivmx.flush()" >/dev/null 2>&1 || true
  check "ivmx.flush() leaves nothing pending" poll "$pending_q" 0 5
fi

# --- consistency ---------------------------------------------------------------------------
# show_diff IMMV: a few rows by which the IMMV and its query differ.
show_diff() {
  local v=$1 cols def
  cols=$(sql "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
               WHERE attrelid = '$v'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT LIKE '\_\_ivm%'")
  def=$(sql "SELECT ivmx.get_immv_def('$v')")
  def=${def%;}
  psql -X -q -A -F ' ' -t -d "$DB" -c "(SELECT 'extra:  ', * FROM (SELECT $cols FROM $v EXCEPT ALL ($def)) x LIMIT 4)
       UNION ALL (SELECT 'missing:', * FROM (($def) EXCEPT ALL SELECT $cols FROM $v) y LIMIT 4)" 2>&1 | sed 's/^/      /'
}
for v in "${IMMVS[@]}"; do
  d=$(sql "SELECT ivmx.verify_immv('$v')" 2>&1 || true)
  m=$(sql "SELECT mode || ', ' || state FROM ivmx.immv_status WHERE immv = '$v'::regclass" 2>&1 || true)
  if [[ $d == 0 ]]; then
    pass "$v ($m) equals its query"
  else
    fail "$v ($m) equals its query" "verify_immv = $d"
    show_diff "$v"
  fi
done
check "every IMMV is in state ok" poll "SELECT count(*) FROM ivmx.immv_status WHERE state <> 'ok'" 0 1

# --- acknowledged commits ------------------------------------------------------------------
cat "$WORK"/w*.log >"$WORK/outcomes.txt" 2>/dev/null || true
awk '$2 == "commit" && $3 == "committed" { print $1 }' "$WORK/outcomes.txt" >"$WORK/acked.txt"
awk '$2 == "single_insert" && $3 == "committed" { print $1 }' "$WORK/outcomes.txt" >"$WORK/acked_orders.txt"
# Rolled back, or failed with an error (not a crash): must not be there.
awk '$2 == "rollback" || ($2 == "commit" && $3 != "committed" && $3 != "crash") { print $1 }' \
  "$WORK/outcomes.txt" >"$WORK/absent.txt"
count() { awk -v k="$1" -v o="$2" '($2 == k || k == "*") && ($3 == o || o == "*") { n++ } END { print n + 0 }' "$WORK/outcomes.txt"; }
n_acked=$(wc -l <"$WORK/acked.txt")
n_acked_orders=$(wc -l <"$WORK/acked_orders.txt")
missing=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" \
  -c "CREATE TEMP TABLE acked (id bigint)" -c "CREATE TEMP TABLE acked_orders (id bigint)" \
  -c "CREATE TEMP TABLE absent (id bigint)" \
  -c "\\copy acked FROM '$WORK/acked.txt'" -c "\\copy acked_orders FROM '$WORK/acked_orders.txt'" \
  -c "\\copy absent FROM '$WORK/absent.txt'" \
  -c "SELECT (SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM audit x WHERE x.id = a.id)) || ' ' ||
             (SELECT count(*) FROM acked_orders a WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = a.id)) || ' ' ||
             (SELECT count(*) FROM absent a WHERE EXISTS (SELECT 1 FROM audit x WHERE x.id = a.id))" 2>&1 || true)
read -r miss_audit miss_orders present_absent <<<"$missing"
check "writers committed transactions ($n_acked blocks, $n_acked_orders autocommit inserts tracked)" \
  test "$n_acked" -gt 0
check "no acknowledged transaction block is missing (audit)" test "${miss_audit:-x}" == 0
check "no acknowledged autocommit insert is missing (orders)" test "${miss_orders:-x}" == 0
check "no rolled-back or failed transaction is visible" test "${present_absent:-x}" == 0
restart_ms=$(awk '$2 == "start" && $3 == "ok" { split($1, a, "."); print a[1] * 1000 + a[2] }' "$WORK/actions.log" | tail -1)
after_restart=$(awk -v t="${restart_ms:-0}" '$3 == "committed" && $4 > t { n++ } END { print n + 0 }' "$WORK/outcomes.txt")
check "writers went on after the server restart ($after_restart commits after it)" test "$after_restart" -gt 0

# --- writer errors and probe findings ---------------------------------------------------------
n_timeout=$(count '*' timeout)
n_error=$(count '*' error)
# name_relations: copies stdin to stdout with "relation OID of database N"
# replaced by the relation's name (the database still exists).
name_relations() {
  local text oids map
  text=$(cat)
  oids=$(grep -o -E 'relation [0-9]+' <<<"$text" | awk '{ print $2 }' | sort -u | paste -sd, - || true)
  if [[ -n $oids ]]; then
    map=$(sql "SELECT string_agg(format('s/relation %s of database [0-9]*/%s/g', oid, oid::regclass), ';')
                 FROM pg_class WHERE oid IN ($oids)" 2>/dev/null || true)
    [[ -n $map ]] && text=$(sed -E "$map" <<<"$text")
  fi
  printf '%s\n' "$text"
}
first_error() { # first_error CLASS [CODES]: the first error of CLASS (with a SQLSTATE matching CODES) in writer_errors.log, in a few lines
  { awk -v c="$1" -v codes="${2:-.}" '/^=== writer/ { if (done) exit; show = ($6 == c && $7 ~ codes); done = show; n = 0 }
                   show && n < 7 { print "      " $0; n++ }' "$WORK/writer_errors.log" 2>/dev/null || true; } |
    cut -c1-220 | name_relations
}

# The writers' deadlocks by cause. PostgreSQL reports a deadlock to one
# process of the cycle, whose DETAIL (in the writer's error) lists every
# process and what it waited for; the server log adds the victim's statement
# and, unless the victim was inside pg_ivmx's code, every process's query. A
# deadlock is
#   with a chaos statement: a process of the cycle runs set_mode or
#     refresh_immv (driver_pids): counted, as those race the writers on purpose;
#   caused by maintenance: else, if a process waited for an IMMV, a relation of
#     schema ivmx, a row of one of them, or a relation dropped since (the
#     workload drops none), for an object lock of class ivmx.immv (the
#     writers' mode and turn locks), or at COMMIT/END (only pre-commit
#     maintenance waits there), or is a scheduler, or the victim's CONTEXT
#     shows a maintenance statement (an IMMV's name, an __ivm identifier):
#     a failure, since immediate IMMVs are maintained once per transaction,
#     before COMMIT, with the IMMVs locked in one order;
#   the workload's own: base tables' row, relation and transaction locks only
#     (the writers' global order should leave none): counted.
# Writes every deadlock with its cause to deadlocks.log; prints the counts
# ("WORKLOAD MAINTENANCE CHAOS GAVE_WAY", the last: deadlocks a scheduler
# lost and retried, from the server log), then, for those caused by
# maintenance, how many of each kind (what each process ran and waited for,
# the victim first) and the first one.
classify_deadlocks() {
  local oids immv_class
  oids=$({ grep -h -o -E '(relation|object) [0-9]+ of' "$WORK/writer_errors.log" "$WORK/server.log" 2>/dev/null || true; } |
    awk '{ print $2 }' | sort -un | paste -sd, -)
  : >"$WORK/relations.txt"
  if [[ -n $oids ]]; then
    sql "SELECT c.oid || '|' || c.relnamespace::regnamespace || '|' || c.relname || '|' ||
                EXISTS (SELECT 1 FROM ivmx.immv i WHERE i.immvrelid = c.oid)
           FROM pg_class c WHERE c.oid IN ($oids)" >"$WORK/relations.txt" 2>/dev/null || true
  fi
  immv_class=$(sql "SELECT 'ivmx.immv'::regclass::oid" 2>/dev/null || echo none)
  awk -v immv_class="$immv_class" -v names="${IMMVS[*]}" -v out="$WORK/deadlocks.log" '
    function after(s, tag) { return substr(s, index(s, tag) + length(tag)) }
    function add(list, item) { return list == "" ? item : list "; " item }
    function is_commit(q) { q = toupper(q); sub(/^[ \t]+/, "", q); return q ~ /^(COMMIT|END|PREPARE TRANSACTION)([ ;]|$)/ }
    function role_of(p) { return (p in driver) ? "a chaos statement" : (p in sched) ? "a pg_ivmx scheduler" : "a writer" }
    # What process p ran, for grouping: COMMIT, UPDATE, ..., or who it is.
    function kind_of(p, q, u) {
      q = statement(p)
      if (q == "") return role_of(p)
      if (is_commit(q)) return "COMMIT"
      if (q ~ /ivmx\./) return "ivmx call"
      u = toupper(q); sub(/^[ \t]+/, "", u); sub(/[ (;].*/, "", u); return u
    }
    function relname(r) { return (r in rel_name) ? rel_schema[r] "." rel_name[r] : "relation " r }
    # Classifies the writer block read last (a deadlock) and records it.
    function classify(   i, p, w, pid, mode, obj, blocker, k, rest, parts, r, part, what, role, q, ops, maint, kinds, cause, report, n) {
      ops = ""; maint = ""; kinds = ""; n = 0
      delete seen
      report = ""
      for (i = 1; i <= nw; i++) {
        w = waits[i]
        split(w, parts, " "); pid = parts[2]; mode = parts[5]
        k = index(w, " on "); r = index(w, "; blocked by process ")
        obj = substr(w, k + 4, r - k - 4)
        blocker = substr(w, r + 21); sub(/\.$/, "", blocker)
        what = obj
        if (obj ~ /^object [0-9]+ of class [0-9]+ of database/) {
          split(obj, parts, " ")
          if (parts[5] == immv_class) {
            what = "the mode or turn lock of IMMV " relname(parts[2])
            maint = add(maint, "process " pid " waits for " mode " on " what)
          }
        } else if (obj ~ /relation [0-9]+ of database/) {
          rest = after(obj, "relation "); split(rest, parts, " "); r = parts[1]
          part = obj ~ /^tuple / ? "a row of " : (index(obj, "relation ") > 1 ? "a part of " : "")
          if (!(r in rel_name)) {
            what = part "relation " r " (dropped since)"
            maint = add(maint, "process " pid " waits for " mode " on " what)
          } else {
            what = part (rel_immv[r] ? "IMMV " : "table ") relname(r)
            if (rel_immv[r] || rel_schema[r] == "ivmx") maint = add(maint, "process " pid " waits for " mode " on " what)
          }
        } else if (obj ~ /^transaction /) {
          what = "a transaction"
        }
        kinds = add(kinds, kind_of(pid) " waits for " mode " on " what)
        for (k = 1; k <= 2; k++) {
          p = k == 1 ? pid : blocker
          if (p in seen) continue
          seen[p] = 1; n++
          role = role_of(p)
          q = statement(p)
          report = report "\n  process " p " (" role (n == 1 ? ", the victim" : "") "): " (q == "" ? "(statement not in the server log)" : substr(q, 1, 240))
          if (p in driver) ops = add(ops, "process " p " runs a chaos statement")
          else if (p in sched) maint = add(maint, "process " p " is a pg_ivmx scheduler")
          else if (is_commit(q)) maint = add(maint, "process " p " waits at COMMIT (pre-commit maintenance)")
        }
      }
      if (nw == 0) maint = add(maint, "the DETAIL names no wait")
      if (ctx ~ /__ivm/) maint = add(maint, "the victim'"'"'s CONTEXT shows a maintenance statement")
      else for (i in immv_names) if (index(ctx, "\"" i "\"") > 0) { maint = add(maint, "the victim'"'"'s CONTEXT names IMMV " i); break }
      cause = ops != "" ? "with a chaos statement" : maint != "" ? "caused by maintenance" : "of the workload'"'"'s own"
      count[cause]++
      report = "deadlock " cause ", " header "\n  DETAIL:  " detail (ctx == "" ? "" : "\n  CONTEXT: " substr(ctx, 1, 300)) report
      if (ops != "") report = report "\n  why a chaos statement: " ops
      else if (maint != "") report = report "\n  why maintenance: " maint
      print report "\n" > out
      if (cause == "caused by maintenance") {
        mkinds[kinds]++
        if (first == "") first = report
      }
    }
    # The statement of process p in the deadlock read last, from the server log.
    function statement(p) {
      if ((key SUBSEP p) in lq) return lq[key, p]
      if (p == victim && (key in lstmt)) return lstmt[key]
      return ""
    }
    function end_block() { if (in_block && is_deadlock) classify(); in_block = 0 }
    BEGIN { n = split(names, t, " "); for (i = 1; i <= n; i++) immv_names[t[i]] = 1 }
    FILENAME ~ /relations\.txt$/ { split($0, f, "|"); rel_schema[f[1]] = f[2]; rel_name[f[1]] = f[3]; rel_immv[f[1]] = (f[4] == "true" || f[4] == "t"); next }
    FILENAME ~ /driver_pids$/ { driver[$1] = 1; next }
    FILENAME ~ /scheduler_pids$/ { sched[$1] = 1; next }
    FILENAME ~ /server\.log$/ {
      if ($0 ~ /ERROR:  deadlock detected/) { in_entry = 1; field = ""; lkey = ""; next }
      if ($0 ~ /gave way to a concurrent transaction/ && $0 ~ /deadlock detected/) { sched_gave_way++; next }
      if (!in_entry) next
      if ($0 ~ /^\t/) { line = substr($0, 2)
        if (field == "detail" && line ~ /^Process [0-9]+: /) { split(line, t, " "); p = t[2]; sub(/:$/, "", p); lq[lkey, p] = after(line, ": ") }
        next }
      if ($0 ~ /DETAIL:  /) { field = "detail"; lkey = after($0, "DETAIL:  "); next }
      if ($0 ~ /STATEMENT:  /) { lstmt[lkey] = after($0, "STATEMENT:  "); in_entry = 0; next }
      if ($0 ~ /(HINT|CONTEXT|LOCATION):  /) { field = "other"; next }
      in_entry = 0; next
    }
    FILENAME ~ /writer_errors\.log$/ {
      if ($0 ~ /^=== writer/) { end_block(); in_block = 1; is_deadlock = ($7 == "40P01"); header = substr($0, 5)
        nw = 0; detail = ""; ctx = ""; key = ""; victim = ""; field = ""; next }
      if (!in_block) next
      if ($0 ~ /^--- transaction:/) { field = "txn"; next }
      if (field == "txn") next
      if ($0 ~ /DETAIL:  Process /) { field = "detail"; line = after($0, "DETAIL:  ") }
      else if (field == "detail" && $0 ~ /^Process [0-9]+ waits for /) line = $0
      else if ($0 ~ /CONTEXT:  /) { field = "context"; ctx = after($0, "CONTEXT:  "); next }
      else if ($0 ~ /^(HINT|LOCATION|ERROR|psql):/ || $0 ~ /(ERROR|HINT|LOCATION):  /) { field = "other"; next }
      else { if (field == "context") ctx = ctx " " $0; next }
      nw++; waits[nw] = line
      if (nw == 1) { key = line; split(line, t, " "); victim = t[2]; detail = line }
      else detail = detail "\n           " line
      next
    }
    END {
      end_block()
      printf "%d %d %d %d\n", count["of the workload'"'"'s own"], count["caused by maintenance"], count["with a chaos statement"], sched_gave_way
      for (k in mkinds) printf "      %d x %s\n", mkinds[k], k
      if (first != "") { print "      the first one:"; n = split(first, t, "\n"); for (i = 1; i <= n; i++) print "        " t[i] }
    }' "$WORK/relations.txt" "$WORK/driver_pids" "$WORK/scheduler_pids" "$WORK/server.log" "$WORK/writer_errors.log"
}
tail -c +$((LOG_OFFSET + 1)) "$LOG" >"$WORK/server.log" 2>/dev/null || true
touch "$WORK/writer_errors.log"
classify_deadlocks >"$WORK/deadlock_summary.txt" 2>&1 || echo "0 0 0 0" >"$WORK/deadlock_summary.txt"
read -r n_dl_workload n_dl_maintenance n_dl_chaos n_sched_gave_way <"$WORK/deadlock_summary.txt" || true
n_deadlock=$(awk '$3 == "conflict" && $5 == "40P01" { n++ } END { print n + 0 }' "$WORK/outcomes.txt")
n_serialization=$(awk '$3 == "conflict" && $5 != "40P01" { n++ } END { print n + 0 }' "$WORK/outcomes.txt")
dl_counts="writers' deadlocks: $n_deadlock; ${n_dl_workload:-?} of the workload's own, ${n_dl_maintenance:-?} caused by maintenance, ${n_dl_chaos:-?} with a chaos statement; schedulers gave way in ${n_sched_gave_way:-?} others"
if [[ ${n_dl_maintenance:-x} == 0 ]]; then
  pass "no deadlock of a writer caused by maintenance ($dl_counts)"
else
  fail "no deadlock of a writer caused by maintenance" "$dl_counts"
  tail -n +2 "$WORK/deadlock_summary.txt" | cut -c1-400 | name_relations
fi
if ((n_serialization > 0)); then
  echo "      $n_serialization serialization failures of writers (READ COMMITTED): $(awk '$3 == "conflict" && $5 != "40P01" { print $5 }' "$WORK/outcomes.txt" | sort | uniq -c | tr -s ' \n' ' ')"
  first_error conflict '^40001$'
fi
if ((n_timeout == 0)); then
  pass "no writer statement waited ${WRITER_TIMEOUT} s (statement_timeout)"
else
  fail "no writer statement waited ${WRITER_TIMEOUT} s (statement_timeout)" "$n_timeout"
  first_error timeout
fi
if ((n_error == 0)); then
  pass "no other error in the writers"
else
  fail "no other error in the writers" \
    "$n_error: $(awk '$3 == "error" { print $5 }' "$WORK/outcomes.txt" | sort | uniq -c | tr -s ' \n' ' ')"
  first_error error
fi
n_probe=0
[[ -f $WORK/probe.log ]] && n_probe=$(wc -l <"$WORK/probe.log")
n_probe_deferred=$(awk '$3 == "deferred" { n++ } END { print n + 0 }' "$WORK/probe.log" 2>/dev/null || echo 0)
n_probe_bad=0
[[ -f $WORK/probe_findings.log ]] && n_probe_bad=$(wc -l <"$WORK/probe_findings.log")
if ((n_probe_bad == 0)); then
  pass "the probe found every IMMV without pending rows equal to its query ($n_probe checks, $n_probe_deferred of deferred IMMVs)"
else
  fail "the probe found every IMMV without pending rows equal to its query" \
    "$n_probe_bad of $n_probe checks differ"
  awk '{ print $7 }' "$WORK/probe_findings.log" | sort | uniq -c | sed 's/^/      differing: /'
  head -3 "$WORK/probe_findings.log" | sed 's/^/      /'
fi

# --- the server log --------------------------------------------------------------------------
# ($WORK/server.log: copied above, for the deadlocks.)
bad_log=$(grep -E 'PANIC|TRAP|[Aa]ssert|terminated by signal ([0-8]|1[0-9])|terminated by exception' "$WORK/server.log" | head -5 || true)
if [[ -z $bad_log ]]; then
  pass "the server log has no PANIC, TRAP, assertion or crash other than our SIGKILLs"
else
  fail "the server log has no PANIC, TRAP, assertion or crash other than our SIGKILLs"
  printf '      %s\n' "$bad_log"
fi
echo "    most frequent errors in the server log:"
grep -o -E '(ERROR|FATAL):  .*' "$WORK/server.log" 2>/dev/null | cut -c1-150 | sed -E 's/[0-9]+/N/g' |
  sort | uniq -c | sort -rn | head -6 | sed 's/^/      /' || true

# --- counts -------------------------------------------------------------------------------------
acts() { grep -c -E "$1" "$WORK/actions.log" 2>/dev/null || true; }
echo "    seed $SEED; chaos phase $((chaos_ms / 1000)) s"
echo "    transactions: $(count commit committed) blocks committed, $(count rollback rolled_back) rolled back," \
  "$(count single committed) + $(count single_insert committed) autocommit statements," \
  "$(count '*' crash) cut by crashes, $n_deadlock deadlocks, $n_serialization serialization failures," \
  "$n_timeout timeouts, $n_error errors"
echo "    mode switches: $(acts ' set_mode .* ok$') ok, $(acts ' set_mode .* err:') failed;" \
  "refresh_immv: $(acts ' refresh_immv .* ok$') ok, $(acts ' refresh_immv .* err:') failed;" \
  "GUC reloads: $(acts ' guc .* ok$')"
echo "    kills: $(acts 'kill_scheduler [0-9]+ ok') scheduler, $(acts 'kill_writer [0-9]+ ok') writer backend;" \
  "immediate stops: $(acts 'stop_immediate ok'); lulls: $(acts 'lull start');" \
  "chaos statements refused by a restarting server: $(acts ' down$')"
if [[ -s $WORK/chaos_errors.log ]]; then
  echo "    errors of chaos statements (not counted as failures):"
  grep -o -E 'ERROR:  .*' "$WORK/chaos_errors.log" | cut -c1-150 | sort | uniq -c | sort -rn | head -5 | sed 's/^/      /' || true
fi

((failed == 0)) || keep_work=true
echo "$passed passed, $failed failed"
((failed == 0))
