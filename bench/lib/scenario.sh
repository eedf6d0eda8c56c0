# shellcheck shell=bash
# The scenario runner of bench/run. A scenario is a small file
# bench/scenarios/NAME.sh that only declares things (see bench/README.md):
#
#   SCENARIO_DESC      one line for the report
#   SCENARIO_KIND      tps  = pgbench runs of SCENARIO_WORKLOAD per client count
#                      bulk = timed single statements declared with bench_bulk
#                      sweep = pgbench runs of SCENARIO_WORKLOAD against
#                      deferred IMMVs, once per scheduler settings point
#                      declared with bench_sweep_point (SWEEP_CLIENTS)
#   SCENARIO_WORKLOAD  pgbench script in bench/workloads/ (kinds tps, sweep),
#                      or builtin:NAME for a pgbench built-in script
#                      (builtin:tpcb-like)
#   SCENARIO_MODES     view modes compared with "none" (no view) in every
#                      repetition: immediate (IMMV), deferred (IMMV with
#                      mode => 'deferred'), matview (plain
#                      CREATE MATERIALIZED VIEW); bench/run --modes may
#                      narrow the list
#   SCENARIO_LAG_VIEWS optional: the deferred views whose lag is sampled
#                      (default: every deferred IMMV of the database)
#   SCENARIO_TARGETS   optional "MODE:CLIENTS:MIN_RATIO ..." shown in the report
#   SCENARIO_DEADLOCK_TARGETS  optional "MODE:CLIENTS:MAX_EXTRA ...": deadlocks
#                      per 1,000 transactions with the views at most MAX_EXTRA
#                      above the no-view runs (kind tps), shown in the report
#   SCENARIO_MAX_TRIES optional (kind tps, sweep): pgbench --max-tries, the
#                      tries of a transaction that fails with a deadlock or a
#                      serialization failure (default 1: no retry, and any
#                      failed transaction fails the run); above 1, retried
#                      transactions are counted and the ones still failing
#                      after the last try are reported without failing it
#   SCENARIO_CLIENTS   optional (kind tps): the client counts of this scenario
#                      when bench/run is given neither --clients nor --quick
#   SCENARIO_SETUP_SQL optional SQL run once after pgbench -i
#   bench_view NAME QUERY      a view created in every mode except none;
#                      views are created in the order declared (a later one
#                      may read an earlier one) and dropped in reverse
#   bench_bulk LABEL STATEMENT a timed statement (kind bulk)
#   bench_sweep_point LABEL "GUC=VALUE ..."  a settings point (kind sweep):
#                      the ivmx.* scheduler GUCs are reset, these set with
#                      ALTER SYSTEM and reloaded before its runs; LABEL (no
#                      spaces, commas or |) names it in the report
#   scenario_during_run DB MODE  optional function, run in the background
#                      during each with-view pgbench run; every line it prints
#                      (CSV) lands in samples.csv (e.g. lag of deferred views)
#
# For each repetition the modes run back to back ("none" first in odd
# repetitions, last in even ones) so that every with-view figure has a
# no-view partner measured under the same machine conditions. Views are
# created before and dropped after each with-view run; creation and a full
# refresh after the run are timed too. Every IMMV is checked with
# ivmx.verify_immv after every measurement: any difference or error marks the
# scenario FAILED.
#
# Every pgbench run logs each transaction (pgbench -l); the p50/p95/p99 of
# their latencies go into tps.csv and the log files are deleted. Each run
# also records pgbench's retries and failures by kind (--failures-detailed)
# and the deadlocks the server counted in the scenario's database during it
# (pg_stat_database.deadlocks, read before and after, once the run's
# sessions have left).
#
# Deferred mode: during each pgbench run the lag of the deferred IMMVs
# (max(lag) of ivmx.immv_status) is sampled every 100 ms into lag.csv; after
# the run (or bulk statement) the time until no deferred IMMV has pending rows
# is measured without flushing (polled every 50 ms on the server, 10 s at
# most) into catchup.csv; only then is each IMMV flushed (ivmx.flush, timed
# into ops.csv) and verified. The scheduler's catch-up work is therefore
# included in the server CPU per transaction of deferred runs.
#
# bench/run calls scenario_prepare for every scenario, then scenario_run for
# each. Needs from it: BENCH_DIR RESULTS SCALE DURATION CLIENTS CLIENTS_GIVEN REPS KEEP_DB
# SWEEP_CLIENTS SWEEP_REPS SWEEP_MAX_POINTS (0: all) and lib/common.sh.

scenario_reset() {
  SCENARIO=
  SCENARIO_DESC=
  SCENARIO_KIND=
  SCENARIO_WORKLOAD=
  SCENARIO_MODES=
  SCENARIO_TARGETS=
  SCENARIO_DEADLOCK_TARGETS=
  SCENARIO_MAX_TRIES=1
  SCENARIO_CLIENTS=
  SCENARIO_SETUP_SQL=
  SCENARIO_LAG_VIEWS=
  VIEW_NAMES=()
  VIEW_QUERIES=()
  BULK_LABELS=()
  BULK_STATEMENTS=()
  SWEEP_LABELS=()
  SWEEP_SETTINGS=()
  FAILURES=()
  MODE_TAG=
  unset -f scenario_during_run
}

bench_view() {
  VIEW_NAMES+=("$1")
  VIEW_QUERIES+=("$2")
}

bench_bulk() {
  BULK_LABELS+=("$1")
  BULK_STATEMENTS+=("$2")
}

bench_sweep_point() {
  SWEEP_LABELS+=("$1")
  SWEEP_SETTINGS+=("$2")
}

# The scheduler settings a sweep point may set (and that are reset before
# each point and after the sweep).
SWEEP_GUCS="ivmx.naptime ivmx.refresh_delay ivmx.max_batch_rows"

# scenario_load NAME: sources bench/scenarios/NAME.sh and checks what it declared.
scenario_load() {
  local file=$BENCH_DIR/scenarios/$1.sh mode
  [[ -f $file ]] || die "no scenario $1 ($file)"
  scenario_reset
  # shellcheck source=/dev/null
  source "$file"
  SCENARIO=$1
  narrow_modes
  case $SCENARIO_KIND in
    tps | sweep)
      [[ $SCENARIO_WORKLOAD == builtin:?* || -f $BENCH_DIR/workloads/$SCENARIO_WORKLOAD ]] ||
        die "$SCENARIO: workload bench/workloads/$SCENARIO_WORKLOAD not found"
      ;;
    bulk) ((${#BULK_LABELS[@]} > 0)) || die "$SCENARIO: kind bulk needs bench_bulk lines" ;;
    *) die "$SCENARIO: SCENARIO_KIND must be tps, bulk or sweep" ;;
  esac
  [[ $SCENARIO_KIND != sweep ]] || check_sweep
  for mode in $SCENARIO_MODES; do
    case $mode in
      immediate | deferred | matview) ;;
      *) die "$SCENARIO: unknown mode $mode" ;;
    esac
  done
  ((${#VIEW_NAMES[@]} > 0)) || die "$SCENARIO: no bench_view declared"
  [[ $SCENARIO_MAX_TRIES =~ ^[1-9][0-9]*$ ]] ||
    die "$SCENARIO: SCENARIO_MAX_TRIES must be a positive integer, not '$SCENARIO_MAX_TRIES'"
  local c t
  for c in $SCENARIO_CLIENTS; do
    [[ $c =~ ^[1-9][0-9]*$ ]] || die "$SCENARIO: SCENARIO_CLIENTS holds '$c', not a client count"
  done
  for t in $SCENARIO_DEADLOCK_TARGETS; do
    [[ $t =~ ^[a-z]+:[1-9][0-9]*:[0-9]+(\.[0-9]+)?$ ]] ||
      die "$SCENARIO: SCENARIO_DEADLOCK_TARGETS entry '$t' is not MODE:CLIENTS:MAX_EXTRA"
  done
}

# check_sweep: what a sweep scenario must declare.
check_sweep() {
  local label setting
  [[ $SCENARIO_MODES == deferred ]] || die "$SCENARIO: a sweep runs deferred IMMVs only (SCENARIO_MODES=deferred)"
  ((${#SWEEP_LABELS[@]} > 0)) || die "$SCENARIO: kind sweep needs bench_sweep_point lines"
  for label in "${SWEEP_LABELS[@]}"; do
    [[ $label =~ ^[A-Za-z0-9_.=:+-]+$ ]] || die "$SCENARIO: sweep label '$label' must be one word without , or |"
  done
  # shellcheck disable=SC2048 # each point holds space-separated settings
  for setting in ${SWEEP_SETTINGS[*]}; do
    [[ " $SWEEP_GUCS " == *" ${setting%%=*} "* && $setting == *=* ]] ||
      die "$SCENARIO: sweep setting '$setting' is not GUC=VALUE with a GUC of: $SWEEP_GUCS"
  done
}

# workload_args: the pgbench arguments that select the scenario's workload
# (and how often a transaction that fails with a deadlock or a serialization
# failure is tried), one per line.
workload_args() {
  case $SCENARIO_WORKLOAD in
    builtin:*) printf '%s\n' -b "${SCENARIO_WORKLOAD#builtin:}" ;;
    *) printf '%s\n' -s "$SCALE" -f "$BENCH_DIR/workloads/$SCENARIO_WORKLOAD" ;;
  esac
  printf '%s\n' "--max-tries=$SCENARIO_MAX_TRIES"
}

# narrow_modes: keeps only the modes listed in ONLY_MODES (bench/run --modes),
# if set; a scenario left with no mode keeps its own list (the option then
# does not apply to it).
narrow_modes() {
  [[ -n ${ONLY_MODES:-} ]] || return 0
  local m kept=
  for m in $SCENARIO_MODES; do
    [[ " ${ONLY_MODES//,/ } " == *" $m "* ]] && kept+="$m "
  done
  [[ -z $kept ]] || SCENARIO_MODES=${kept% }
}

# is_immv MODE: true for the modes maintained by pg_ivmx.
is_immv() { [[ $1 == immediate || $1 == deferred ]]; }

# fail REASON: records a failure of the current scenario (it goes on running
# so that the logs show how widespread the problem is).
fail() {
  FAILURES+=("$1")
  log "FAILURE: $1"
}

# --- views in each mode ------------------------------------------------------

# create_views DB MODE CLIENTS REP: creates every view in MODE, timing each.
create_views() {
  local db=$1 mode=$2 clients=$3 rep=$4 i name query stmt t
  for i in "${!VIEW_NAMES[@]}"; do
    name=${VIEW_NAMES[i]} query=${VIEW_QUERIES[i]}
    case $mode in
      immediate | deferred) stmt="SELECT ivmx.create_immv($(sql_literal "$name"), $(sql_literal "$query"), '$mode')" ;;
      matview) stmt="CREATE MATERIALIZED VIEW $name AS $query" ;;
    esac
    t=$(time_sql "$db" "$stmt") || die "$SCENARIO: creating $name ($mode) failed"
    csv_row "$RESULTS/ops.csv" "$SCENARIO" "$name" "$mode" create "$clients" "$rep" "${t%% *}"
  done
}

# refresh_views DB MODE CLIENTS REP: full recompute of every view, timed.
refresh_views() {
  local db=$1 mode=$2 clients=$3 rep=$4 name stmt t
  for name in "${VIEW_NAMES[@]}"; do
    case $mode in
      immediate | deferred) stmt="SELECT ivmx.refresh_immv($(sql_literal "$name"), true)" ;;
      matview) stmt="REFRESH MATERIALIZED VIEW $name" ;;
    esac
    t=$(time_sql "$db" "$stmt") || die "$SCENARIO: refreshing $name ($mode) failed"
    csv_row "$RESULTS/ops.csv" "$SCENARIO" "$name" "$mode" refresh "$clients" "$rep" "${t%% *}"
  done
}

# drop_views DB MODE: drops the views in reverse order of creation (a view
# read by another goes after it).
drop_views() {
  local db=$1 mode=$2 name i
  for ((i = ${#VIEW_NAMES[@]} - 1; i >= 0; i--)); do
    name=${VIEW_NAMES[i]}
    case $mode in
      immediate | deferred) sql "$db" -c "DROP TABLE $name" ;;
      matview) sql "$db" -c "DROP MATERIALIZED VIEW $name" ;;
    esac
  done
}

# verify_views DB MODE CLIENTS REP: prints the total number of rows by which
# the IMMVs differ from their queries ("error" if a check failed to run, "n/a"
# for modes without maintenance). Deferred IMMVs are flushed first, in the
# order of creation (inputs first), each flush timed into ops.csv.
verify_views() {
  local db=$1 mode=$2 clients=$3 rep=$4 name n t total=0
  is_immv "$mode" || {
    echo n/a
    return
  }
  if [[ $mode == deferred ]]; then
    for name in "${VIEW_NAMES[@]}"; do
      if ! t=$(time_sql "$db" "SELECT ivmx.flush($(sql_literal "$name"))" 2>>"$RESULTS/bench.log"); then
        echo error
        return
      fi
      csv_row "$RESULTS/ops.csv" "$SCENARIO" "$name" "$mode" flush "$clients" "$rep" "${t%% *}"
    done
  fi
  for name in "${VIEW_NAMES[@]}"; do
    if ! n=$(sql "$db" -c "SELECT ivmx.verify_immv($(sql_literal "$name"))" 2>>"$RESULTS/bench.log"); then
      echo error
      return
    fi
    total=$((total + n))
  done
  echo "$total"
}

# Same starting conditions for every measurement: no dead rows left by the
# previous one, fresh statistics, no checkpoint due. CHECKPOINT needs
# superuser or pg_checkpoint; without them it is skipped.
prepare_measurement() {
  local db=$1
  sql "$db" -c 'VACUUM ANALYZE'
  sql "$db" -c 'CHECKPOINT' 2>/dev/null || true
}

# --- deferred views: lag and catch-up ------------------------------------------

# lag_filter: the WHERE clause selecting the deferred IMMVs whose lag counts.
# Views are named with to_regclass: in the runs without them the sampler must
# keep running (a cast to regclass would fail and end it at once).
lag_filter() {
  local where="mode = 'deferred'" v list=
  for v in $SCENARIO_LAG_VIEWS; do
    list+="${list:+, }to_regclass($(sql_literal "$v"))"
  done
  [[ -z $list ]] || where+=" AND immv IN ($list)"
  printf '%s' "$where"
}

# lag_sampler DB: every 100 ms one CSV line "SERVER_EPOCH_S,LAG_S,PENDING_ROWS"
# (max lag and total pending log rows of the deferred IMMVs), until killed.
# One psql session repeating the query with \watch (each sample its own
# transaction and snapshot); a connection per sample would cost the server
# more than the sampling itself. Run it in the background: $! is the psql.
lag_sampler() {
  local db=$1 q
  q="SELECT round(extract(epoch from clock_timestamp())::numeric, 3),
            round(coalesce(extract(epoch from max(lag)), 0)::numeric, 3),
            coalesce(sum(pending_rows), 0)
       FROM ivmx.immv_status WHERE $(lag_filter)"
  exec "$PGBIN/psql" -X -q -At -F , -d "$(conn "$db")" 2>/dev/null <<<"$q \\watch 0.1"
}

# catch_up DB: waits, without flushing, until no deferred IMMV has pending log
# rows; prints "MS STATUS PENDING_AT_START" (STATUS ok or timeout). Polled on
# the server (every 50 ms, 10 s at most, each poll a fresh snapshot) so that
# the figure carries no client round trips.
catch_up() {
  local db=$1
  sql "$db" -F ' ' \
    -c "CREATE FUNCTION pg_temp.bench_catch_up() RETURNS TABLE (ms numeric, status text, pending0 bigint)
        LANGUAGE plpgsql AS \$f\$
        DECLARE t0 timestamptz := clock_timestamp(); n bigint;
        BEGIN
          pending0 := (SELECT coalesce(sum(pending_rows), 0) FROM ivmx.immv_status WHERE mode = 'deferred');
          n := pending0;
          WHILE n > 0 AND clock_timestamp() - t0 < interval '10 s' LOOP
            PERFORM pg_sleep(0.05);
            n := (SELECT coalesce(sum(pending_rows), 0) FROM ivmx.immv_status WHERE mode = 'deferred');
          END LOOP;
          ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
          status := CASE WHEN n > 0 THEN 'timeout' ELSE 'ok' END;
          RETURN NEXT;
        END \$f\$" \
    -c "SELECT * FROM pg_temp.bench_catch_up()"
}

# record_catch_up DB MODE CLIENTS REP WHAT: catch_up into catchup.csv.
record_catch_up() {
  local db=$1 mode=$2 clients=$3 rep=$4 what=$5 ms st p0
  if ! read -r ms st p0 < <(catch_up "$db" 2>>"$RESULTS/bench.log"); then
    ms='' st=error p0=''
  fi
  [[ -n ${ms:-} ]] || st=error
  csv_row "$RESULTS/catchup.csv" "$SCENARIO" "${MODE_TAG:-$mode}" "$clients" "$rep" "$what" "${ms:-}" "${st:-error}" "${p0:-}"
  log "$SCENARIO ${MODE_TAG:-$mode} c=$clients rep=$rep $what: catch-up ${ms:-?} ms ($st, ${p0:-?} rows pending at the end)"
  [[ $st == ok ]] || log "warning: deferred IMMVs did not catch up ($st); see ivmx.immv_status"
}

# --- measurements --------------------------------------------------------------

# prefix_lines TEXT: copies stdin to stdout with TEXT before every line (TEXT
# may hold any character but a newline).
prefix_lines() { awk -v p="$1" '{ print p $0 }'; }

# latency_percentiles PREFIX: "P50 P95 P99" in ms (nearest rank) of the
# transactions logged by pgbench -l into PREFIX.* (one file per thread; the
# third field is the latency in µs, "failed" or "skipped" for transactions
# without one), then deletes those files. Prints "- - -" if none was logged.
latency_percentiles() {
  local prefix=$1
  cat "$prefix".* 2>/dev/null |
    awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n |
    awk '{ v[NR] = $1 }
      function rank(q,   r) { r = int(q * NR); if (r < q * NR) r++; if (r < 1) r = 1; return v[r] / 1000 }
      END {
        if (NR == 0) { print "- - -"; exit }
        printf "%.3f %.3f %.3f\n", rank(0.50), rank(0.95), rank(0.99)
      }'
  rm -f "$prefix".*
}

# db_deadlocks DB: pg_stat_database.deadlocks of DB, read once no other
# client backend is connected to it (5 s at most): a backend adds the
# deadlocks it met to the shared counters at the latest when it exits, so
# after its sessions are gone the counter holds every deadlock of a finished
# pgbench run. Deadlocks of the pg_ivmx scheduler (a background worker that
# stays connected) count once it has reported them. Empty if unreadable.
db_deadlocks() {
  local db=$1 i n
  for ((i = 0; i < 50; i++)); do
    n=$(sql "$db" -c "SELECT count(*) FROM pg_stat_activity
                       WHERE datname = current_database() AND backend_type = 'client backend'
                         AND pid <> pg_backend_pid()" 2>>"$RESULTS/bench.log") || n=0
    [[ $n != 0 ]] || break
    sleep 0.1
  done
  ((i < 50)) || log "warning: $n other sessions still connected to $db; deadlocks read anyway"
  sql "$db" -c "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()" \
    2>>"$RESULTS/bench.log" || true
}

# pgbench_stat OUTPUT LABEL: the count pgbench printed after "LABEL: " in its
# summary (e.g. "number of deadlock failures"); empty if it printed none.
pgbench_stat() {
  awk -v label="$2: " 'index($0, label) == 1 { split(substr($0, length(label) + 1), f, " "); print f[1]; exit }' "$1"
}

# measure_tps DB MODE CLIENTS REP SLOT: one pgbench run of the workload. The
# mode column of its CSV rows is MODE_TAG if set (a sweep point), else MODE.
measure_tps() {
  local db=$1 mode=$2 clients=$3 rep=$4 slot=$5
  local tag=${MODE_TAG:-$mode}
  local out=$RESULTS/logs/${SCENARIO}_${tag//[^A-Za-z0-9_.=-]/_}_c${clients}_r${rep}.log
  local rc=0 sampler='' lagger='' tps latency xacts failed verify status=ok load1 cpu0 cpu1 p50 p95 p99
  local retried retries fail_ser fail_dl dl0 dl1 deadlocks=''
  local -a workload
  mapfile -t workload < <(workload_args)
  load1=$(load_average)
  dl0=$(db_deadlocks "$db")
  cpu0=$(server_cpu_ticks)
  if [[ $mode != none ]] && declare -F scenario_during_run >/dev/null; then
    scenario_during_run "$db" "$mode" >"$out.samples" &
    sampler=$!
  fi
  # The lag sampler runs in every mode, its samples kept for deferred IMMVs
  # only: a session querying every 100 ms keeps the CPUs from idling, which
  # on a VM shortens the round trips of a single client by half or more, so
  # running it only beside deferred runs would flatter them.
  if [[ $mode == deferred ]]; then
    lag_sampler "$db" >"$out.lag" &
  else
    lag_sampler "$db" >/dev/null &
  fi
  lagger=$!
  rm -f "$out.txlog".*
  "$PGBIN/pgbench" -n -c "$clients" -j "$clients" -T "$DURATION" -l --log-prefix="$out.txlog" \
    --failures-detailed "${workload[@]}" "$(conn "$db")" >"$out" 2>&1 || rc=$?
  read -r p50 p95 p99 < <(latency_percentiles "$out.txlog")
  if [[ -n $sampler ]]; then
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    prefix_lines "$SCENARIO,$tag,$clients,$rep," <"$out.samples" >>"$RESULTS/samples.csv"
  fi
  kill "$lagger" 2>/dev/null || true
  wait "$lagger" 2>/dev/null || true
  if [[ $mode == deferred ]]; then
    grep -E '^[0-9.]+,[0-9.]+,[0-9]+$' "$out.lag" | prefix_lines "$SCENARIO,$tag,$clients,$rep," >>"$RESULTS/lag.csv" || true
    record_catch_up "$db" "$mode" "$clients" "$rep" pgbench
  fi
  # After the samplers are gone (server_cpu_ticks waits for every client
  # backend to leave) and, for deferred IMMVs, after the scheduler's catch-up.
  cpu1=$(server_cpu_ticks)
  dl1=$(db_deadlocks "$db")
  [[ -z $dl0 || -z $dl1 ]] || deadlocks=$((dl1 - dl0))
  tps=$(awk '/^tps = / { print $3 }' "$out")
  latency=$(awk '/^latency average = / { print $4 }' "$out")
  xacts=$(pgbench_stat "$out" "number of transactions actually processed")
  failed=$(pgbench_stat "$out" "number of failed transactions")
  fail_ser=$(pgbench_stat "$out" "number of serialization failures")
  fail_dl=$(pgbench_stat "$out" "number of deadlock failures")
  # Printed only when transactions may be tried more than once.
  retried=$(pgbench_stat "$out" "number of transactions retried")
  retries=$(pgbench_stat "$out" "total number of retries")
  verify=$(verify_views "$db" "$mode" "$clients" "$rep")
  # A transaction retried after a deadlock and then committed is no failure;
  # with retries, the ones still failing after the last try are counted
  # (tps.csv, report) but leave the run valid. Without retries any failed
  # transaction fails the run, as does any other error (pgbench then aborts
  # the client and exits non-zero).
  if ((rc != 0)) || [[ -z $tps ]] || { ((SCENARIO_MAX_TRIES == 1)) && [[ ${failed:-0} != 0 ]]; }; then
    status=pgbench_error
    fail "pgbench exited $rc with ${failed:-?} failed transactions ($tag, $clients clients, rep $rep); see logs/$(basename "$out")"
  elif [[ ${failed:-0} != 0 ]]; then
    log "warning: $SCENARIO $tag c=$clients rep=$rep: $failed transactions failed after $SCENARIO_MAX_TRIES tries ($fail_dl deadlock, $fail_ser serialization failures)"
  fi
  if [[ $verify != 0 && $verify != n/a ]]; then
    status=verify_failed
    fail "verify_immv after $tag, $clients clients, rep $rep: $verify"
  fi
  csv_row "$RESULTS/tps.csv" "$SCENARIO" "$tag" "$clients" "$rep" "$slot" \
    "${tps:-}" "${latency:-}" "${xacts:-}" "${failed:-}" "$verify" "$status" "$load1" \
    "$(cpu_per "$cpu0" "$cpu1" "${xacts:-}" 1000000)" "${p50#-}" "${p95#-}" "${p99#-}" \
    "$SCENARIO_MAX_TRIES" "${retried:-0}" "${retries:-0}" "${fail_ser:-}" "${fail_dl:-}" "$deadlocks"
  log "$SCENARIO $tag c=$clients rep=$rep: tps=${tps:-?} latency=${latency:-?} ms (p50/p95/p99 ${p50}/${p95}/${p99}) deadlocks=${deadlocks:-?} retries=${retries:-0} verify=$verify"
}

# measure_bulk DB MODE REP SLOT: each bulk statement once, timed, then verified.
measure_bulk() {
  local db=$1 mode=$2 rep=$3 slot=$4 i t ms rows cpu verify status load1
  for i in "${!BULK_LABELS[@]}"; do
    prepare_measurement "$db"
    status=ok load1=$(load_average)
    if ! t=$(time_sql "$db" "${BULK_STATEMENTS[i]}" 2>>"$RESULTS/bench.log"); then
      t="- - -" status=error
      fail "bulk statement ${BULK_LABELS[i]} failed ($mode, rep $rep); see bench.log"
    fi
    read -r ms rows cpu <<<"$t"
    [[ $mode != deferred || $status != ok ]] || record_catch_up "$db" "$mode" 1 "$rep" "${BULK_LABELS[i]}"
    verify=$(verify_views "$db" "$mode" 1 "$rep")
    if [[ $verify != 0 && $verify != n/a ]]; then
      status=verify_failed
      fail "verify_immv after ${BULK_LABELS[i]} ($mode, rep $rep): $verify"
    fi
    csv_row "$RESULTS/bulk.csv" "$SCENARIO" "${BULK_LABELS[i]}" "$mode" "$rep" "$slot" \
      "$rows" "$ms" "$verify" "$status" "$load1" "${cpu#-}"
    log "$SCENARIO $mode ${BULK_LABELS[i]} rep=$rep: $rows rows in $ms ms (backend CPU ${cpu} ms) verify=$verify"
  done
}

# --- one scenario --------------------------------------------------------------

setup_database() {
  local db=$1
  log "$SCENARIO: database $db, pgbench -i -s $SCALE"
  # WITH (FORCE): the extension's scheduler worker may be connected to it.
  sql postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  "$PGBIN/pgbench" -i -q -s "$SCALE" "$(conn "$db")" >>"$RESULTS/bench.log" 2>&1 ||
    die "$SCENARIO: pgbench -i failed; see bench.log"
  if [[ -n $SCENARIO_SETUP_SQL ]]; then
    sql "$db" <<<"$SCENARIO_SETUP_SQL"
  fi
  sql "$db" -c 'CREATE EXTENSION pg_ivmx'
  sql "$db" -c 'VACUUM ANALYZE'
}

# run_one DB MODE CLIENTS REP SLOT: one measurement in one mode.
run_one() {
  local db=$1 mode=$2 clients=$3 rep=$4 slot=$5
  [[ $mode == none ]] || create_views "$db" "$mode" "$clients" "$rep"
  case $SCENARIO_KIND in
    tps | sweep)
      prepare_measurement "$db"
      measure_tps "$db" "$mode" "$clients" "$rep" "$slot"
      ;;
    bulk) measure_bulk "$db" "$mode" "$rep" "$slot" ;;
  esac
  if [[ $mode != none ]]; then
    refresh_views "$db" "$mode" "$clients" "$rep"
    drop_views "$db" "$mode"
  fi
}

# scenario_prepare NAME: its database, ready for scenario_run. bench/run
# prepares every scenario before measuring any, so that CREATE EXTENSION reads
# the SQL script installed with the library the server loaded at start even
# if a `make install` happens during the (long) measurements.
scenario_prepare() {
  scenario_load "$1"
  local t
  printf '%s|%s|%s\n' "$SCENARIO" "$SCENARIO_KIND" "$SCENARIO_DESC" >>"$RESULTS/scenarios.txt"
  for t in $SCENARIO_TARGETS; do
    csv_row "$RESULTS/targets.csv" "$SCENARIO" "${t//:/,}"
  done
  for t in $SCENARIO_DEADLOCK_TARGETS; do
    csv_row "$RESULTS/deadlock_targets.csv" "$SCENARIO" "${t//:/,}"
  done
  setup_database "ivmx_bench_$SCENARIO"
  warm_up "ivmx_bench_$SCENARIO"
}

# warm_up DB: the workload once, unmeasured, so that the first measurement
# (always a no-view one) does not pay for cold caches alone.
warm_up() {
  local db=$1 stmt
  log "$SCENARIO: warm-up"
  case $SCENARIO_KIND in
    tps | sweep)
      local -a workload
      mapfile -t workload < <(workload_args)
      "$PGBIN/pgbench" -n -c 1 -T "$((DURATION < 5 ? DURATION : 5))" \
        "${workload[@]}" "$(conn "$db")" >>"$RESULTS/bench.log" 2>&1 ||
        die "$SCENARIO: warm-up pgbench failed; see bench.log"
      ;;
    bulk)
      for stmt in "${BULK_STATEMENTS[@]}"; do
        sql "$db" -c "$stmt"
      done
      ;;
  esac
}

# --- settings sweep (kind sweep) ---------------------------------------------

# reset_sweep_settings DB: ALTER SYSTEM RESET of every sweep GUC and a reload.
reset_sweep_settings() {
  local db=$1 guc
  local -a stmts=()
  for guc in $SWEEP_GUCS; do
    stmts+=(-c "ALTER SYSTEM RESET $guc")
  done
  sql "$db" "${stmts[@]}" -c 'SELECT pg_reload_conf()' >/dev/null
}

# apply_sweep_point DB INDEX: the scheduler settings of sweep point INDEX
# (every other sweep GUC back to its default), reloaded; records the values a
# new session sees into sweep.csv. The reload reaches the scheduler within
# its current wait (at most ivmx.refresh_delay): half a second is allowed.
apply_sweep_point() {
  local db=$1 i=$2 setting guc values columns=
  local -a stmts=()
  for guc in $SWEEP_GUCS; do
    stmts+=(-c "ALTER SYSTEM RESET $guc")
  done
  for setting in ${SWEEP_SETTINGS[i]}; do
    stmts+=(-c "ALTER SYSTEM SET ${setting%%=*} = $(sql_literal "${setting#*=}")")
  done
  sql "$db" "${stmts[@]}" -c 'SELECT pg_reload_conf()' >/dev/null ||
    die "$SCENARIO: could not apply sweep point ${SWEEP_LABELS[i]} (ALTER SYSTEM needs a superuser)"
  sleep 0.5
  for guc in $SWEEP_GUCS; do
    columns+="${columns:+, }current_setting('$guc')"
  done
  values=$(sql "$db" -F , -c "SELECT $columns") ||
    die "$SCENARIO: could not read the settings of sweep point ${SWEEP_LABELS[i]}"
  csv_row "$RESULTS/sweep.csv" "$SCENARIO" "${SWEEP_LABELS[i]}" "$values"
  log "$SCENARIO: sweep point ${SWEEP_LABELS[i]} ($SWEEP_GUCS = $values)"
}

# sweep_run DB: for every client count of SWEEP_CLIENTS and repetition (of
# SWEEP_REPS), the
# no-view run and one deferred run per settings point, back to back (no view
# first and the points in order in odd repetitions, reversed in even ones).
# The CSV mode of a point's rows is deferred/LABEL. Settings are reset when
# the sweep ends, also on error (the EXIT trap of scenario_run's subshell).
sweep_run() {
  local db=$1 clients rep slot item i j t npoints=${#SWEEP_LABELS[@]}
  local -a order
  if ((${SWEEP_MAX_POINTS:-0} > 0 && SWEEP_MAX_POINTS < npoints)); then
    npoints=$SWEEP_MAX_POINTS
  fi
  # shellcheck disable=SC2064 # expand db now
  trap "reset_sweep_settings $db || true" EXIT
  for clients in $SWEEP_CLIENTS; do
    for ((rep = 1; rep <= SWEEP_REPS; rep++)); do
      order=(none)
      for ((i = 0; i < npoints; i++)); do order+=("$i"); done
      if ((rep % 2 == 0)); then
        for ((i = 0, j = ${#order[@]} - 1; i < j; i++, j--)); do
          t=${order[i]} order[i]=${order[j]} order[j]=$t
        done
      fi
      slot=0
      for item in "${order[@]}"; do
        slot=$((slot + 1))
        if [[ $item == none ]]; then
          run_one "$db" none "$clients" "$rep" "$slot"
          continue
        fi
        apply_sweep_point "$db" "$item"
        MODE_TAG="deferred/${SWEEP_LABELS[item]}"
        run_one "$db" deferred "$clients" "$rep" "$slot"
        MODE_TAG=
      done
    done
  done
  reset_sweep_settings "$db"
}

# scenario_run NAME: the measurements of a prepared scenario; writes its line
# of status.csv.
# Exits non-zero if it failed.
scenario_run() {
  scenario_load "$1"
  local db=ivmx_bench_$SCENARIO points clients rep slot mode t i j
  local -a order

  # shellcheck disable=SC2153 # CLIENTS comes from bench/run
  points=$CLIENTS
  [[ -z $SCENARIO_CLIENTS ]] || ((${CLIENTS_GIVEN:-1})) || points=$SCENARIO_CLIENTS
  [[ $SCENARIO_KIND == tps ]] || points=1
  [[ $SCENARIO_KIND != sweep ]] || points=
  [[ $SCENARIO_KIND != sweep ]] || sweep_run "$db"
  for clients in $points; do
    for ((rep = 1; rep <= REPS; rep++)); do
      # shellcheck disable=SC2206
      order=(none $SCENARIO_MODES)
      if ((rep % 2 == 0)); then
        for ((i = 0, j = ${#order[@]} - 1; i < j; i++, j--)); do
          t=${order[i]} order[i]=${order[j]} order[j]=$t
        done
      fi
      slot=0
      for mode in "${order[@]}"; do
        slot=$((slot + 1))
        run_one "$db" "$mode" "$clients" "$rep" "$slot"
      done
    done
  done

  ((KEEP_DB)) || sql postgres -c "DROP DATABASE $db WITH (FORCE)"
  if ((${#FAILURES[@]} > 0)); then
    local detail
    detail=$(printf '%s; ' "${FAILURES[@]}")
    csv_row "$RESULTS/status.csv" "$SCENARIO" FAILED "${detail//,/;}"
    return 1
  fi
  csv_row "$RESULTS/status.csv" "$SCENARIO" OK ""
}
