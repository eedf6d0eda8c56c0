# shellcheck shell=bash disable=SC2034
# append_insert: an insert-only event log. Each transaction appends one row
# to pgbench_history (bench/workloads/append_history.sql); the IMMV keeps
# count, sum, min and max of the deltas per teller. Insertions only, so
# min/max fold with LEAST/GREATEST and no group is ever recomputed.
# Declarations only: see lib/scenario.sh.

SCENARIO_DESC="INSERT-only into pgbench_history; view: count/sum/min/max(delta) per tid"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=append_history.sql
SCENARIO_MODES="immediate deferred matview"

bench_view teller_deltas \
  'SELECT tid, count(*) AS n, sum(delta) AS total, min(delta) AS lowest, max(delta) AS highest FROM pgbench_history GROUP BY tid'
