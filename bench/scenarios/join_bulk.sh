# shellcheck shell=bash disable=SC2034
# join_bulk: what an IMMV joining accounts and branches costs one UPDATE of 1%
# and one of 10% of pgbench_accounts, timed with no view and with an
# immediate IMMV (the bulk table has one with-IMMV column, so one mode).
# Declarations only: see lib/scenario.sh.

SCENARIO_DESC="bulk UPDATE of 1% / 10% of pgbench_accounts; view: accounts ⋈ branches"
SCENARIO_KIND=bulk
SCENARIO_MODES="immediate"

bench_view acct_branch \
  'SELECT a.aid, b.bid, a.abalance, b.bbalance FROM pgbench_accounts a JOIN pgbench_branches b USING (bid)'

bench_bulk "1% of rows" 'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0'
bench_bulk "10% of rows" 'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 10 = 0'
