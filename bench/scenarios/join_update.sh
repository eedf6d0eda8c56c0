# shellcheck shell=bash disable=SC2034
# join_update: what an IMMV joining accounts and branches costs single-row
# writers of pgbench_accounts (bench/workloads/update_balance.sql): no view,
# immediate IMMV, deferred IMMV. Each update changes one row of the join, so
# the maintenance is a keyed delete + insert rather than an aggregate
# adjustment. Declarations only: see lib/scenario.sh.

SCENARIO_DESC="single-row UPDATE of pgbench_accounts.abalance; view: accounts ⋈ branches"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=update_balance.sql
SCENARIO_MODES="immediate deferred matview"
# Same goal as agg_update for the immediate IMMV.
SCENARIO_TARGETS="immediate:1:0.5 immediate:4:0.4"

bench_view acct_branch \
  'SELECT a.aid, b.bid, a.abalance, b.bbalance FROM pgbench_accounts a JOIN pgbench_branches b USING (bid)'
