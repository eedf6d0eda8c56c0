# shellcheck shell=bash disable=SC2034
# join_bulk: what an IMMV joining accounts and branches costs one UPDATE of 1%
# of pgbench_accounts, timed with no view, an immediate IMMV and a deferred
# one (for which the statement only logs; the scheduler's catch-up is in
# catchup.csv). Declarations only: see lib/scenario.sh.

SCENARIO_DESC="bulk UPDATE of 1% of pgbench_accounts; view: accounts ⋈ branches"
SCENARIO_KIND=bulk
SCENARIO_MODES="immediate deferred"

bench_view acct_branch \
  'SELECT a.aid, b.bid, a.abalance, b.bbalance FROM pgbench_accounts a JOIN pgbench_branches b USING (bid)'

bench_bulk "1% of rows" 'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0'
