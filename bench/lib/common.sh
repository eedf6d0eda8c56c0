# shellcheck shell=bash
# Helpers shared by bench/run and the scenario files: logging, psql and
# pgbench bound to one database of the benchmark server, timing of single
# statements, CSV rows. Source it; it only defines functions.
#
# Expects from the caller: BENCH_CONNINFO (libpq keyword=value string without
# dbname), PGBIN (PostgreSQL client binaries), RESULTS (results directory).

# Progress messages go to stderr (bench/run copies them into bench.log).
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# conn DB: the conninfo of database DB. A keyword repeated later in a libpq
# conninfo string wins, so appending dbname overrides one in BENCH_CONNINFO.
conn() { printf '%s dbname=%s' "$BENCH_CONNINFO" "$1"; }

# sql DB ARGS...: psql on DB, stopping at the first error, tuples only.
# Each -c runs as its own transaction (VACUUM needs that).
sql() {
  local db=$1
  shift
  "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$(conn "$db")" "$@"
}

# time_sql DB STATEMENT: runs one statement in its own transaction and prints
# "MS ROWS": the client-side elapsed time in milliseconds (parse, execute,
# AFTER triggers and commit) and the row count of its command tag (or the
# first result column for a SELECT). Fails if the statement fails.
time_sql() {
  local db=$1 stmt=$2 out
  out=$("$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -d "$(conn "$db")" \
    -c '\timing on' -c "$stmt") || return 1
  awk '
    /^Timing is on\.$/ { next }
    /^Time: / { ms = $2; next }
    /^(INSERT 0|UPDATE|DELETE|SELECT) [0-9]+$/ { rows = $NF; next }
    rows == "" && /^-?[0-9]+$/ { rows = $0 }
    END { if (ms == "") exit 1; printf "%s %s\n", ms, (rows == "" ? "" : rows) }
  ' <<<"$out"
}

# csv_row FILE FIELD...: appends one CSV row (fields must not hold commas).
csv_row() {
  local file=$1
  shift
  local IFS=,
  printf '%s\n' "$*" >>"$file"
}

# load_average: the 1-minute load average of this machine (how busy the
# shared machine was when a measurement started).
load_average() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ''; }

# sql_literal TEXT: TEXT as a single-quoted SQL literal.
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }
