# shellcheck shell=bash disable=SC2034
# deferred_sweep: how the scheduler settings trade the lag of a deferred IMMV
# against the writers' throughput. The single-row balance updates of
# bench/workloads/update_balance.sql run against a deferred count/sum IMMV
# once per settings point below (and once without a view, for the ratio),
# at the client counts of --sweep-clients (default 4). Each point starts
# from the defaults (ALTER SYSTEM RESET, then SET of its own settings,
# pg_reload_conf; needs a superuser) and everything is reset at the end.
# Declarations only: see lib/scenario.sh.
#
# What the points show: ivmx.refresh_delay is the shortest time between two
# scheduler rounds (lag floor vs. refreshes per second); ivmx.max_batch_rows
# caps the log rows one refresh consumes (too small and the scheduler falls
# behind a busy writer); ivmx.naptime is only the longest sleep, since
# committing writers wake the scheduler, so a long one should change
# nothing under load.

SCENARIO_DESC="single-row UPDATE of pgbench_accounts.abalance; deferred count/sum per bid at several ivmx.naptime / ivmx.refresh_delay / ivmx.max_batch_rows settings"
SCENARIO_KIND=sweep
SCENARIO_WORKLOAD=update_balance.sql
SCENARIO_MODES="deferred"

bench_view branch_totals \
  'SELECT bid, count(*), sum(abalance) FROM pgbench_accounts GROUP BY bid'

# bench_sweep_point LABEL "GUC=VALUE ...": the first points run in --quick.
bench_sweep_point defaults ""
bench_sweep_point refresh_delay=0 "ivmx.refresh_delay=0"
bench_sweep_point refresh_delay=20ms "ivmx.refresh_delay=20ms"
bench_sweep_point refresh_delay=500ms "ivmx.refresh_delay=500ms"
bench_sweep_point max_batch_rows=1000 "ivmx.max_batch_rows=1000"
bench_sweep_point naptime=10s "ivmx.naptime=10s"
