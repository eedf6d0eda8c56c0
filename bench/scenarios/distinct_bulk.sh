# shellcheck shell=bash disable=SC2034
# distinct_bulk: what a DISTINCT IMMV costs one large UPDATE touching 1% and
# then 10% of pgbench_accounts, timed with and without the IMMV (each
# statement after a VACUUM, the IMMV verified after each). Declarations only:
# see lib/scenario.sh.

SCENARIO_DESC="bulk UPDATE of 1% / 10% of pgbench_accounts; view: SELECT DISTINCT bid, abalance WHERE abalance <> 0"
SCENARIO_KIND=bulk
SCENARIO_MODES="immediate"

bench_view balance_pairs \
  'SELECT DISTINCT bid, abalance FROM pgbench_accounts WHERE abalance <> 0'

bench_bulk "1% of rows" 'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0'
bench_bulk "10% of rows" 'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 10 = 0'
