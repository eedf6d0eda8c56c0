# shellcheck shell=bash disable=SC2034
# topk_update: what a top-10 IMMV (the accounts with the largest balances)
# costs single-row writers. Random balance updates
# (bench/workloads/update_balance.sql); the IMMV's top rows are computed
# again after each change, through an index on (abalance DESC, aid) that
# the set-up creates (the query itself would want it), and only the rows
# that left or entered the top are written. The key breaks ties, so that
# the IMMV equals its query at every check. Declarations only: see
# lib/scenario.sh.

SCENARIO_DESC="single-row UPDATE of pgbench_accounts.abalance; view: top 10 accounts by balance"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=update_balance.sql
SCENARIO_MODES="immediate deferred matview"
SCENARIO_SETUP_SQL='CREATE INDEX pgbench_accounts_top ON pgbench_accounts (abalance DESC, aid)'
# Project goal: at least half the no-view TPS with the immediate IMMV.
SCENARIO_TARGETS="immediate:1:0.5 immediate:4:0.5"

bench_view top_accounts \
  'SELECT aid, bid, abalance FROM pgbench_accounts ORDER BY abalance DESC, aid LIMIT 10'
