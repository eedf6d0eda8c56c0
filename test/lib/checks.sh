# shellcheck shell=bash
# Checks for the shell suites in test/suites: one "ok"/"FAILED" line per
# check, and polling with a deadline. The caller defines sql QUERY (prints
# the result) and the counters passed/failed, and prints the closing
# "N passed, M failed" line itself. use_or_start_cluster gives a suite run
# alone a throwaway cluster of its own.

pass() { passed=$((passed + 1)); echo "ok     $1"; }
fail() { failed=$((failed + 1)); echo "FAILED $1${2:+ ($2)}"; }

# check NAME COMMAND...: records whether COMMAND succeeded.
check() {
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

# poll QUERY EXPECTED [SECONDS]: true once QUERY prints EXPECTED (polled every
# 0.1 s, for $TIMEOUT seconds — 10 unless set — by default).
poll() {
  local query=$1 expected=$2 seconds=${3:-${TIMEOUT:-10}} got= end
  end=$(($(date +%s%N) + seconds * 1000000000))
  while :; do
    got=$(sql "$query" 2>&1 || true)
    [[ $got == "$expected" ]] && return 0
    (($(date +%s%N) >= end)) && break
    sleep 0.1
  done
  echo "    last result: '$got', expected '$expected'" >&2
  return 1
}

# stays QUERY EXPECTED SECONDS: true if QUERY prints EXPECTED throughout.
stays() {
  local query=$1 expected=$2 end got
  end=$(($(date +%s%N) + $3 * 1000000000))
  while (($(date +%s%N) < end)); do
    got=$(sql "$query" 2>&1 || true)
    if [[ $got != "$expected" ]]; then
      echo "    got '$got', expected '$expected'" >&2
      return 1
    fi
    sleep 0.1
  done
}

# use_or_start_cluster: uses the cluster of test/run_all.sh when PGPORT is
# set; otherwise starts a throwaway one (test/lib/cluster.sh) and sets
# own_cluster=true, so that the caller's cleanup stops it (cluster_stop).
use_or_start_cluster() {
  own_cluster=false
  [[ -z ${PGPORT:-} ]] || return 0
  # shellcheck source=test/lib/cluster.sh
  source test/lib/cluster.sh
  export PATH="$PGBIN:$PATH"
  own_cluster=true
  # shellcheck disable=SC2119  # no DIR: a fresh temporary one
  cluster_start
}
