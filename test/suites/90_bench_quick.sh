#!/usr/bin/env bash
# Smoke test of the benchmark suite: `bash bench/run --quick` (agg_update with
# no view, an immediate and a deferred IMMV, and the first points of the
# deferred settings sweep; scale 1, short runs), on its own
# throwaway cluster as bench/run starts by default; the cluster of
# test/run_all.sh (PGPORT) is not used, so that the measurements disturb no
# other suite. Fails only if the run fails (a scenario FAILED, an IMMV check
# found a difference, a pgbench error); ratio targets are not checked, since
# a loaded machine misses them. Prints one summary line; the full output is in
# the results directory it names. Well under 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."

unset PGHOST PGPORT PGUSER PGDATABASE
out=$(mktemp -d /tmp/ivmx_bench_quick.XXXXXX)
rc=0
start=$SECONDS
bash bench/run --quick --out "$out" >"$out/stdout.log" 2>&1 || rc=$?
secs=$((SECONDS - start))

status=$(awk -F, 'NR > 1 { printf "%s%s=%s", sep, $1, $2; sep = " " }' "$out/status.csv" 2>/dev/null || true)
runs=$(awk -F, 'NR > 1 { n++ } END { print n + 0 }' "$out/tps.csv" 2>/dev/null || echo 0)
bad=$(awk -F, 'NR > 1 && $11 != "ok" { n++ } END { print n + 0 }' "$out/tps.csv" 2>/dev/null || echo 0)
catchup=$(awk -F, 'NR > 1 { printf "%s%s", sep, ($7 == "ok" ? $6 "ms" : $7); sep = "/" }' "$out/catchup.csv" 2>/dev/null || true)

if ((rc == 0)) && [[ -n $status && $status != *FAILED* ]] && ((runs > 0 && bad == 0)); then
  echo "ok     bench --quick: $status, $runs pgbench runs, deferred catch-up ${catchup:-n/a}, ${secs}s ($out)"
  exit 0
fi
echo "FAILED bench --quick (exit $rc): ${status:-no status}, $bad of $runs runs not ok, ${secs}s; see $out/stdout.log and $out/report.md"
tail -n 20 "$out/stdout.log" | sed 's/^/       /'
exit 1
