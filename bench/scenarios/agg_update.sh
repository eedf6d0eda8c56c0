# shellcheck shell=bash disable=SC2034
# agg_update: what a per-branch count/sum IMMV costs single-row writers.
# Random balance updates (bench/workloads/update_balance.sql) with no view, with
# an immediate IMMV, with a deferred IMMV (writers only append to the delta
# log; the scheduler applies it: lag and catch-up reported), and with a plain materialized view (no cost on writers,
# stale until REFRESH; its create/refresh times are the baseline for
# ivmx.create_immv / ivmx.refresh_immv). Declarations only: see lib/scenario.sh.

SCENARIO_DESC="single-row UPDATE of pgbench_accounts.abalance; view: count/sum per bid"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=update_balance.sql
SCENARIO_MODES="immediate deferred matview"
# Project goal: with the IMMV, at least half the no-view TPS at 1 client and
# 40% of it at 4 clients; with a deferred IMMV, 85% at 1 and 4 clients.
SCENARIO_TARGETS="immediate:1:0.5 immediate:4:0.4 deferred:1:0.85 deferred:4:0.85"

bench_view branch_totals \
  'SELECT bid, count(*), sum(abalance) FROM pgbench_accounts GROUP BY bid'
