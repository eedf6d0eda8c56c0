# shellcheck shell=bash disable=SC2034
# tpcb_like: pgbench's built-in TPC-B-like transaction (update an account, a
# teller and a branch, select the account's balance, insert into
# pgbench_history) with two IMMVs a dashboard might keep: count/sum of the
# balances per branch, and count/sum of the history's deltas per teller.
# The branch row updates already serialize writers of one branch, as in
# plain pgbench. Declarations only: see lib/scenario.sh.

SCENARIO_DESC="pgbench built-in tpcb-like; views: count/sum(abalance) per bid, count/sum(delta) of pgbench_history per tid"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=builtin:tpcb-like
SCENARIO_MODES="immediate deferred matview"

bench_view branch_totals \
  'SELECT bid, count(*), sum(abalance) FROM pgbench_accounts GROUP BY bid'
bench_view teller_history \
  'SELECT tid, count(*) AS n, sum(delta) AS total FROM pgbench_history GROUP BY tid'
