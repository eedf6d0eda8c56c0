# shellcheck shell=bash
# Shared body of test/run_regress.sh and test/run_isolation.sh: runs one
# pg_regress-style driver (pg_regress or pg_isolation_regress) against the test
# cluster, in a database of its own that gets the pg_ivmx extension.
#
# If a cluster was started by the caller (CLUSTER_DIR set, as test/run_all.sh
# does) it is used; otherwise a throwaway one is started and stopped here, so a
# suite can also be run alone. With --installcheck (as `make installcheck`
# passes) no cluster is started: the suite runs against the server that the
# libpq environment names (PGHOST, PGPORT, PGUSER; libpq's defaults for those
# unset), after checking that it can run the suite. Test names given as
# arguments run only those; otherwise INPUTDIR/schedule is used if present,
# else every test file found.

# shellcheck source=test/lib/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

# Where postgresql-server-dev-15 ships pg_regress and pg_isolation_regress.
# shellcheck disable=SC2034  # used by the scripts that source this file
PGXS_TESTDIR=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test

# installcheck_preflight LABEL NEED_2PC
#   Checks that the server of the libpq environment can run the suite: it
#   answers, the role is a superuser (the tests create the extension and
#   roles and use ALTER SYSTEM), pg_ivmx is in shared_preload_libraries and
#   installed, and max_prepared_transactions > 0 if NEED_2PC is true. Says
#   what is missing and returns 1 otherwise. Connects to PGDATABASE, else to
#   postgres (the suite's own database is created by the driver).
installcheck_preflight() {
  local label=$1 need_2pc=$2 server facts
  server="host ${PGHOST:-(libpq default)}, port ${PGPORT:-(libpq default)}, user ${PGUSER:-(libpq default)}"
  echo "$label: installcheck against the running server ($server)"
  # shared_preload_libraries is readable by superusers only: the CASE keeps
  # a non-superuser's check from failing on it.
  if ! facts=$("$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "${PGDATABASE:-postgres}" -c "
      SELECT r.rolsuper,
             EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_ivmx'),
             current_setting('max_prepared_transactions')::int > 0,
             current_user,
             CASE WHEN r.rolsuper THEN current_setting('shared_preload_libraries') END
      FROM pg_roles r WHERE r.rolname = current_user" 2>&1); then
    echo "$label: installcheck: cannot query the server ($server):" >&2
    printf '%s\n' "$facts" >&2
    return 1
  fi
  local superuser available twopc role libs lib preloaded=false
  IFS='|' read -r superuser available twopc role libs <<<"$facts"
  # Entries as the server lists them: pg_ivmx, "pg_ivmx", $libdir/pg_ivmx.so.
  local -a entries=()
  IFS=',' read -r -a entries <<<"$libs"
  for lib in "${entries[@]}"; do
    lib=${lib//[[:space:]\"]/}
    lib=${lib##*/}
    if [[ ${lib%.so} == pg_ivmx ]]; then preloaded=true; fi
  done
  if [[ $superuser != t ]]; then
    echo "$label: installcheck: role \"$role\" is not a superuser; the suite creates the extension and roles and uses ALTER SYSTEM (set PGUSER)" >&2
    return 1
  fi
  if ! $preloaded; then
    echo "$label: installcheck: pg_ivmx is not in shared_preload_libraries of the server (it is '$libs'); add it in postgresql.conf and restart the server" >&2
    return 1
  fi
  if [[ $available != t ]]; then
    echo "$label: installcheck: the server has no pg_ivmx extension to create (pg_ivmx.control is not in its extension directory); run make install" >&2
    return 1
  fi
  if [[ $need_2pc == true && $twopc != t ]]; then
    echo "$label: installcheck: max_prepared_transactions is 0 on the server and a test prepares transactions; set it above 0 (the test clusters use 10) and restart the server" >&2
    return 1
  fi
}

# run_pg_regress_suite LABEL DRIVER INPUTDIR TESTSUBDIR TESTEXT OUTPUTDIR DBNAME [--installcheck] [TEST...]
#   TESTSUBDIR/TESTEXT locate the test files: sql/*.sql or specs/*.spec.
run_pg_regress_suite() {
  local label=$1 driver=$2 inputdir=$3 testsubdir=$4 testext=$5 outputdir=$6 dbname=$7
  shift 7
  local installcheck=false
  if [[ ${1:-} == --installcheck ]]; then
    installcheck=true
    shift
  fi
  local -a tests=("$@") selection=() files=()

  if ((${#tests[@]} > 0)); then
    selection=("${tests[@]}")
    local t
    for t in "${tests[@]}"; do files+=("$inputdir/$testsubdir/$t.$testext"); done
  elif [[ -f $inputdir/schedule ]]; then
    selection=(--schedule="$inputdir/schedule")
    files=("$inputdir/$testsubdir"/*."$testext")
  else
    local f
    for f in "$inputdir/$testsubdir"/*."$testext"; do
      [[ -e $f ]] || continue
      files+=("$f")
      f=${f##*/}
      selection+=("${f%."$testext"}")
    done
  fi
  if ((${#selection[@]} == 0)); then
    echo "$label: no tests"
    return 0
  fi

  # The driver's connection: the throwaway cluster, or (installcheck) nothing
  # on the command line, so that pg_regress honors the libpq environment.
  local -a server=()
  if $installcheck; then
    local need_2pc=false
    if grep -qi 'PREPARE TRANSACTION' "${files[@]}" 2>/dev/null; then need_2pc=true; fi
    installcheck_preflight "$label" "$need_2pc" || return 1
  else
    if [[ -z ${CLUSTER_DIR:-} ]]; then
      trap cluster_stop EXIT
      # shellcheck disable=SC2119  # no DIR: a fresh temporary one
      cluster_start
    fi
    server=(--host="$PGHOST" --port="$PGPORT" --user="$PGUSER")
  fi

  rm -rf "$outputdir/results"
  mkdir -p "$outputdir"
  local rc=0
  # --encoding and --no-locale give the test database the settings of the
  # throwaway clusters (initdb --encoding=UTF8 --no-locale) on any server.
  "$driver" "${server[@]}" --bindir="$PGBIN" --inputdir="$inputdir" \
    --outputdir="$outputdir" --dbname="$dbname" --encoding=UTF8 --no-locale \
    --load-extension=pg_ivmx "${selection[@]}" || rc=$?
  if ((rc != 0)); then
    if [[ -s $outputdir/regression.diffs ]]; then
      echo "==== $label: $outputdir/regression.diffs ===="
      cat "$outputdir/regression.diffs"
    fi
    if ! $installcheck; then cluster_log_tail 40; fi
  fi
  return "$rc"
}
