# shellcheck shell=bash disable=SC2034
# report_update: the SQL of a real report under single-row writers — HAVING,
# count(DISTINCT …) and an expression over aggregates — on the random balance
# updates of bench/workloads/update_balance.sql. Every update moves an
# account's balance from one value to another: the per-branch value counts
# behind count(DISTINCT abalance) change (a value may appear or vanish), the
# branch's sum and mean change, and the branch enters or leaves the IMMV as
# its total crosses zero (HAVING), with every group's state kept beside it.
# Declarations only: see lib/scenario.sh.

SCENARIO_DESC="single-row UPDATE of pgbench_accounts.abalance; view: per bid count(DISTINCT abalance), mean balance, HAVING sum(abalance) > 0"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=update_balance.sql
SCENARIO_MODES="immediate deferred matview"
# Project goal: with the IMMV, at least half the no-view TPS at 1 and at 4
# clients; with a deferred IMMV, 85% at 1 and 4 clients.
SCENARIO_TARGETS="immediate:1:0.5 immediate:4:0.5 deferred:1:0.85 deferred:4:0.85"

bench_view branch_report \
  'SELECT bid, count(DISTINCT abalance) AS balances, sum(abalance) / nullif(count(*), 0) AS mean_balance, count(*) AS accounts FROM pgbench_accounts GROUP BY bid HAVING sum(abalance) > 0'
