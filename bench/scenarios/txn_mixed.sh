# shellcheck shell=bash disable=SC2034
# txn_mixed: writer transactions that update two of accounts, tellers and
# branches in random order and append to pgbench_history
# (bench/workloads/txn_mixed.sql), under six IMMVs over all four tables.
# Without views, two transactions deadlock only when they meet on the same
# teller and branch in opposite orders (rare: the workload's baseline). With
# immediate IMMVs the transaction also writes the views' rows (the group of
# a count/sum, the single row of the branch total, the join rows of a teller
# or branch, the DISTINCT pairs), once, before it commits, with the IMMVs
# locked in one order for every transaction: they must add no deadlock of
# their own. pgbench retries a deadlocked transaction
# (SCENARIO_MAX_TRIES); the report gives the deadlocks the server counted
# per 1,000 committed transactions, with and without the views, beside the
# TPS ratio. Runs at 4 and 8 clients by default (one client cannot
# deadlock with itself). Declarations only: see lib/scenario.sh.

SCENARIO_DESC="per transaction: UPDATE two of accounts / tellers / branches in random order + INSERT pgbench_history; 6 views: count/sum per bid of accounts and of tellers, branch total, history per tid, tellers ⋈ branches, DISTINCT bid/tid of history"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=txn_mixed.sql
SCENARIO_MODES="immediate deferred matview"
SCENARIO_CLIENTS="4 8"
# A deadlocked transaction is rolled back and tried again, up to 10 times;
# one still failing after that is counted, not a failure of the run.
SCENARIO_MAX_TRIES=10
SCENARIO_TARGETS="immediate:4:0.5"
# With IMMVs, at most 1 deadlock per 1,000 transactions more than without.
SCENARIO_DEADLOCK_TARGETS="immediate:4:1 immediate:8:1 deferred:4:1 deferred:8:1"

bench_view acct_totals \
  'SELECT bid, count(*) AS n, sum(abalance) AS total FROM pgbench_accounts GROUP BY bid'
bench_view teller_totals \
  'SELECT bid, count(*) AS n, sum(tbalance) AS total FROM pgbench_tellers GROUP BY bid'
bench_view branch_total \
  'SELECT count(*) AS n, sum(bbalance) AS total FROM pgbench_branches'
bench_view history_per_teller \
  'SELECT tid, count(*) AS n, sum(delta) AS total FROM pgbench_history GROUP BY tid'
bench_view teller_branch \
  'SELECT t.tid, t.tbalance, b.bid, b.bbalance FROM pgbench_tellers t JOIN pgbench_branches b ON b.bid = t.bid'
bench_view history_pairs \
  'SELECT DISTINCT bid, tid FROM pgbench_history'
