# shellcheck shell=bash
# Throwaway PostgreSQL 15 clusters for the test suites and the demo.
#
# Source this file, then:
#   cluster_start [DIR]   initdb + start a cluster in DIR (default: a fresh
#                         mktemp -d); exports PGHOST PGPORT PGUSER CLUSTER_DIR
#                         CLUSTER_DATA CLUSTER_LOG
#   cluster_stop          stop it (pg_ctl stop -m fast) and remove CLUSTER_DIR
#   cluster_log_tail [N]  print the last N (40) lines of the server log
#   cluster_ensure_up     restart the server if it died (e.g. after a crash)
# Callers install `trap cluster_stop EXIT` right after sourcing.
#
# Knobs (environment):
#   CLUSTER_PRELOAD     shared_preload_libraries (default pg_ivmx; set it empty
#                       to test the plumbing before the library is installed)
#   CLUSTER_EXTRA_CONF  extra postgresql.conf lines, appended last
#   CLUSTER_PORT_BASE   first TCP port tried (default 54320)
#
# The server runs as the postgres OS user (PostgreSQL refuses root) with trust
# authentication on 127.0.0.1 only and fsync=off: it is for tests, not data.
# The caller sets `set -euo pipefail`; this file only defines functions.

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=${PGBIN:-$("$PG_CONFIG" --bindir)}

# Runs a command as the postgres OS user when we are root (as ourselves
# otherwise), from / so that an unreadable working directory does not matter.
cluster_as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# True when something already listens on TCP port $1 on this machine.
cluster_port_busy() {
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$1" -t 1 && return 0
  # Without ss (iproute2) a busy port still shows up as a bind failure later.
  command -v ss >/dev/null || return 1
  ss -Htln "sport = :$1" | grep -q .
}

cluster_log_tail() {
  local n=${1:-40}
  [[ -n ${CLUSTER_LOG:-} && -f $CLUSTER_LOG ]] || return 0
  echo "---- last $n lines of $CLUSTER_LOG ----" >&2
  tail -n "$n" "$CLUSTER_LOG" >&2
  echo "---- end of server log ----" >&2
}

# Writes the test settings into $CLUSTER_DATA/postgresql.conf.
cluster_write_conf() {
  local port=$1
  cluster_as_pg tee -a "$CLUSTER_DATA/postgresql.conf" >/dev/null <<EOF

# ---- test cluster settings (test/lib/cluster.sh) ----
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CLUSTER_DIR'
shared_preload_libraries = '${CLUSTER_PRELOAD-pg_ivmx}'
max_connections = 100
max_prepared_transactions = 10
# One pg_ivmx scheduler per database with the extension: the suites create
# many databases in one cluster.
max_worker_processes = 40
fsync = off
log_min_messages = warning
${CLUSTER_EXTRA_CONF:-}
EOF
}

cluster_start() {
  CLUSTER_DIR=${1:-$(mktemp -d /tmp/ivmx_cluster.XXXXXX)}
  CLUSTER_DATA=$CLUSTER_DIR/data
  CLUSTER_LOG=$CLUSTER_DIR/server.log
  export CLUSTER_DIR CLUSTER_DATA CLUSTER_LOG
  mkdir -p "$CLUSTER_DIR"
  if ((EUID == 0)); then chown postgres:postgres "$CLUSTER_DIR"; fi
  chmod 700 "$CLUSTER_DIR"
  if ! cluster_as_pg test -w "$CLUSTER_DIR"; then
    echo "cluster: the postgres user cannot write $CLUSTER_DIR (check the permissions of its parents)" >&2
    return 1
  fi

  cluster_as_pg "$PGBIN/initdb" -D "$CLUSTER_DATA" -U postgres --auth=trust \
    --encoding=UTF8 --no-locale >"$CLUSTER_DIR/initdb.log" 2>&1 || {
    cat "$CLUSTER_DIR/initdb.log" >&2
    return 1
  }
  cluster_as_pg cp "$CLUSTER_DATA/postgresql.conf" "$CLUSTER_DIR/postgresql.conf.orig"

  # Another cluster may grab a port between our check and our bind: on a bind
  # failure, try the next port.
  local port=${CLUSTER_PORT_BASE:-54320} tries=0
  while ((tries < 50)); do
    if cluster_port_busy "$port"; then
      port=$((port + 1)) tries=$((tries + 1))
      continue
    fi
    cluster_as_pg cp "$CLUSTER_DIR/postgresql.conf.orig" "$CLUSTER_DATA/postgresql.conf"
    cluster_write_conf "$port"
    if cluster_as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DATA" -l "$CLUSTER_LOG" -w -t 60 start >/dev/null; then
      export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
      echo "cluster: PostgreSQL running on 127.0.0.1:$port, data in $CLUSTER_DATA"
      return 0
    fi
    if ! grep -q "could not bind\|Address already in use" "$CLUSTER_LOG" 2>/dev/null; then
      echo "cluster: server failed to start" >&2
      cluster_log_tail 40
      return 1
    fi
    port=$((port + 1)) tries=$((tries + 1))
  done
  echo "cluster: no free TCP port found from ${CLUSTER_PORT_BASE:-54320} upward" >&2
  return 1
}

# Restarts the server if it is no longer accepting connections (a crash that
# did not recover, a PANIC); prints the log tail so the cause is visible.
cluster_ensure_up() {
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" -t 5 && return 0
  echo "cluster: server on port $PGPORT is down, restarting it" >&2
  cluster_log_tail 40
  cluster_as_pg "$PGBIN/pg_ctl" -D "$CLUSTER_DATA" -l "$CLUSTER_LOG" -w -t 60 start >/dev/null
}

# Safe to call twice, and after a cluster_start that failed half-way.
cluster_stop() {
  [[ -n ${CLUSTER_DIR:-} && -d $CLUSTER_DIR ]] || return 0
  local data=$CLUSTER_DIR/data
  if [[ -f $data/postmaster.pid ]]; then
    cluster_as_pg "$PGBIN/pg_ctl" -D "$data" -w -t 60 -m fast stop >/dev/null ||
      cluster_as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate stop >/dev/null || true
  fi
  rm -rf "$CLUSTER_DIR"
  unset CLUSTER_DIR
}
