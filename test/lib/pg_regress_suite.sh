# shellcheck shell=bash
# Shared body of test/run_regress.sh and test/run_isolation.sh: runs one
# pg_regress-style driver (pg_regress or pg_isolation_regress) against the test
# cluster, in a database of its own that gets the pg_ivmx extension.
#
# If a cluster was started by the caller (CLUSTER_DIR set, as test/run_all.sh
# does) it is used; otherwise a throwaway one is started and stopped here, so a
# suite can also be run alone. Test names given as arguments run only those;
# otherwise INPUTDIR/schedule is used if present, else every test file found.

# shellcheck source=test/lib/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

# Where postgresql-server-dev-15 ships pg_regress and pg_isolation_regress.
# shellcheck disable=SC2034  # used by the scripts that source this file
PGXS_TESTDIR=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test

# run_pg_regress_suite LABEL DRIVER INPUTDIR TESTSUBDIR TESTEXT OUTPUTDIR DBNAME [TEST...]
#   TESTSUBDIR/TESTEXT locate the test files: sql/*.sql or specs/*.spec.
run_pg_regress_suite() {
  local label=$1 driver=$2 inputdir=$3 testsubdir=$4 testext=$5 outputdir=$6 dbname=$7
  shift 7
  local -a tests=("$@") selection=()

  if ((${#tests[@]} > 0)); then
    selection=("${tests[@]}")
  elif [[ -f $inputdir/schedule ]]; then
    selection=(--schedule="$inputdir/schedule")
  else
    local f
    for f in "$inputdir/$testsubdir"/*."$testext"; do
      [[ -e $f ]] || continue
      f=${f##*/}
      selection+=("${f%."$testext"}")
    done
  fi
  if ((${#selection[@]} == 0)); then
    echo "$label: no tests"
    return 0
  fi

  if [[ -z ${CLUSTER_DIR:-} ]]; then
    trap cluster_stop EXIT
    # shellcheck disable=SC2119  # no DIR: a fresh temporary one
    cluster_start
  fi

  rm -rf "$outputdir/results"
  mkdir -p "$outputdir"
  local rc=0
  "$driver" --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
    --bindir="$PGBIN" --inputdir="$inputdir" --outputdir="$outputdir" \
    --dbname="$dbname" --load-extension=pg_ivmx "${selection[@]}" || rc=$?
  if ((rc != 0)); then
    if [[ -s $outputdir/regression.diffs ]]; then
      echo "==== $label: $outputdir/regression.diffs ===="
      cat "$outputdir/regression.diffs"
    fi
    cluster_log_tail 40
  fi
  return "$rc"
}
