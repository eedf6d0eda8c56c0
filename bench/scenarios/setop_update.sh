# shellcheck shell=bash disable=SC2034
# setop_update: a set operation under single-row writers, on the random
# balance updates of bench/workloads/update_balance.sql. The IMMV holds, per
# branch, the balances of its accounts that no teller of the branch has
# (EXCEPT ALL: as often as accounts have them more often than tellers).
# Every update moves an account's balance from one value to another: the
# counts per operand of two (bid, balance) rows change in the table kept
# beside the IMMV, and the IMMV gains or loses a copy of each.
# Declarations only: see lib/scenario.sh.

SCENARIO_DESC="single-row UPDATE of pgbench_accounts.abalance; view: (bid, abalance) of accounts EXCEPT ALL (bid, tbalance) of tellers"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=update_balance.sql
SCENARIO_MODES="immediate deferred matview"
# Project goal, as for the other single-row scenarios: with the IMMV, at
# least half the no-view TPS at 1 and at 4 clients; deferred, 85%.
SCENARIO_TARGETS="immediate:1:0.5 immediate:4:0.5 deferred:1:0.85 deferred:4:0.85"

bench_view balance_gaps \
  'SELECT bid, abalance AS balance FROM pgbench_accounts EXCEPT ALL SELECT bid, tbalance FROM pgbench_tellers'
