# shellcheck shell=bash disable=SC2034
# history_update: a writer transaction that updates one account and appends
# the change to pgbench_history (bench/workloads/update_history.sql), with an
# IMMV over each table: count/sum per branch of the accounts, count/sum of
# the deltas per branch of the history. One transaction, two statements, two
# IMMVs maintained (immediate) or two delta logs appended (deferred).
# Declarations only: see lib/scenario.sh.

SCENARIO_DESC="UPDATE pgbench_accounts + INSERT pgbench_history per transaction; views: count/sum per bid of each table"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=update_history.sql
SCENARIO_MODES="immediate deferred matview"

bench_view branch_totals \
  'SELECT bid, count(*), sum(abalance) FROM pgbench_accounts GROUP BY bid'
bench_view history_totals \
  'SELECT bid, count(*) AS n, sum(delta) AS total FROM pgbench_history GROUP BY bid'
