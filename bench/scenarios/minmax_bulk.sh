# shellcheck shell=bash disable=SC2034
# minmax_bulk: what a min/max IMMV costs one large UPDATE touching 1% and then
# 10% of pgbench_accounts: groups whose extreme moves are recomputed from the
# base table. Timed with and without the IMMV (each statement after a VACUUM,
# the IMMV verified after each). Declarations only: see lib/scenario.sh.

SCENARIO_DESC="bulk UPDATE of 1% / 10% of pgbench_accounts; view: min/max of abalance per bid"
SCENARIO_KIND=bulk
SCENARIO_MODES="immediate"

bench_view branch_extremes \
  'SELECT bid, min(abalance) AS lowest, max(abalance) AS highest FROM pgbench_accounts GROUP BY bid'

bench_bulk "1% of rows" 'UPDATE pgbench_accounts SET abalance = abalance - 1 WHERE aid % 100 = 0'
bench_bulk "10% of rows" 'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 10 = 0'
