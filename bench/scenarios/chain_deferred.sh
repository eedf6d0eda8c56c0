# shellcheck shell=bash disable=SC2034
# chain_deferred: a three-level chain of deferred IMMVs over the balance
# updates of bench/workloads/update_balance.sql. Writers only log changes of
# pgbench_accounts; the scheduler brings the chain forward level by level
# (accounts ⋈ branches → count/sum per bid → branches with a positive
# total). Lag is sampled on the leaf: how stale the top of the chain gets.
# Declarations only: see lib/scenario.sh (views are created in the order
# below and dropped leaf first).

SCENARIO_DESC="single-row UPDATE of pgbench_accounts.abalance; 3-level deferred chain: accounts ⋈ branches → sum per bid → total > 0"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=update_balance.sql
SCENARIO_MODES="deferred"
SCENARIO_TARGETS="deferred:1:0.8 deferred:4:0.8"
SCENARIO_LAG_VIEWS="chain_l3"

bench_view chain_l1 \
  'SELECT a.aid, a.bid, a.abalance, b.bbalance FROM pgbench_accounts a JOIN pgbench_branches b USING (bid)'
bench_view chain_l2 \
  'SELECT bid, count(*) AS n, sum(abalance) AS total FROM chain_l1 GROUP BY bid'
bench_view chain_l3 \
  'SELECT bid, total FROM chain_l2 WHERE total > 0'
