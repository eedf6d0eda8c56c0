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
# "MS ROWS CPU_MS": the client-side elapsed time in milliseconds (parse,
# execute, AFTER triggers and commit), the row count of its command tag (or
# the first result column for a SELECT), and the CPU time its backend spent on
# it (from /proc, 10 ms resolution; "-" unless the server is the local
# throwaway cluster). Fails if the statement fails.
time_sql() {
  local db=$1 stmt=$2 out
  local cpu_probe="\\! awk '{ print \"cpu\", \$14 + \$15 }' /proc/\$BENCH_BACKEND_PID/stat"
  [[ -n ${BENCH_POSTMASTER_PID:-} ]] || cpu_probe=
  out=$("$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -d "$(conn "$db")" <<EOF
SELECT pg_backend_pid() AS backend_pid \\gset
\\setenv BENCH_BACKEND_PID :backend_pid
$cpu_probe
\\timing on
$stmt;
\\timing off
$cpu_probe
EOF
  ) || return 1
  awk -v hz="$(getconf CLK_TCK)" '
    /^Timing is (on|off)\.$/ { next }
    /^cpu [0-9]+$/ { if (c0 == "") c0 = $2; else c1 = $2; next }
    /^Time: / { ms = $2; next }
    /^(INSERT 0|UPDATE|DELETE|SELECT) [0-9]+$/ { rows = $NF; next }
    rows == "" && /^-?[0-9]+$/ { rows = $0 }
    END {
      if (ms == "") exit 1
      printf "%s %s %s\n", ms, (rows == "" ? "-" : rows), (c1 == "" ? "-" : (c1 - c0) * 1000 / hz)
    }
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

# --- server CPU (local throwaway cluster only) ---------------------------------
# The CPU time of the whole server: the postmaster's own, that of its live
# (and zombie) children from /proc/PID/stat, and that of its reaped children,
# which the kernel adds to the postmaster's cutime and cstime. The difference
# across a measurement is the CPU every server process (backends, WAL writer,
# autovacuum, pg_ivmx workers) spent during it, however busy the rest of the
# machine was. Empty output when BENCH_POSTMASTER_PID is unset (--conninfo).

# server_cpu_ticks: that total in clock ticks, read once no client backend is
# still running (at most 10 s of waiting).
server_cpu_ticks() {
  [[ -n ${BENCH_POSTMASTER_PID:-} ]] || return 0
  local pm=$BENCH_POSTMASTER_PID i
  # Client backends are titled "postgres: USER DB HOST(PORT) STATE".
  for ((i = 0; i < 100; i++)); do
    pgrep -P "$pm" -f -- ' [^ ]+\([0-9]+\) ' >/dev/null || break
    sleep 0.1
  done
  # Children first: one reaped in between is counted twice rather than never.
  {
    for i in $(ps --ppid "$pm" -o pid=); do
      awk '{ print $14 + $15 }' "/proc/$i/stat" 2>/dev/null || true
    done
    awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
  } | awk '{ total += $1 } END { print total }'
}

# cpu_per START END DIVISOR SCALE: (END - START) ticks in seconds * SCALE /
# DIVISOR, one decimal; empty if a value is missing.
cpu_per() {
  [[ -n $1 && -n $2 && -n $3 && $3 != 0 ]] || return 0
  awk -v a="$1" -v b="$2" -v n="$3" -v k="$4" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.1f", (b - a) / hz * k / n }'
}

# sql_literal TEXT: TEXT as a single-quoted SQL literal.
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }
