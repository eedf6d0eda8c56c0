# shellcheck shell=bash disable=SC2034
# distinct_update: a DISTINCT IMMV whose rows come and go. The single-row
# balance updates of bench/workloads/update_balance.sql under
# SELECT DISTINCT bid, abalance … WHERE abalance <> 0: pgbench starts every
# balance at 0 (filtered out, so no single hot row), and each update moves an
# account from one (branch, balance) pair to another, which usually takes
# the last account away from one row of the IMMV (the row leaves) and gives a
# new pair its first account (a row enters): the multiplicity bookkeeping of
# DISTINCT under real churn. The IMMV grows as more accounts get a non-zero
# balance, run after run. Declarations only: see lib/scenario.sh.

SCENARIO_DESC="single-row UPDATE of pgbench_accounts.abalance; view: SELECT DISTINCT bid, abalance WHERE abalance <> 0 (rows enter and leave)"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=update_balance.sql
SCENARIO_MODES="immediate deferred matview"

bench_view balance_pairs \
  'SELECT DISTINCT bid, abalance FROM pgbench_accounts WHERE abalance <> 0'
