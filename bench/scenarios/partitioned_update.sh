# shellcheck shell=bash disable=SC2034
# partitioned_update: agg_update over a partitioned pgbench_accounts. After
# pgbench -i the table is rebuilt as pgbench_accounts range-partitioned by
# aid into 10 partitions of equal size (as pgbench -i --partitions=10 lays
# it out: the first from MINVALUE, the last to MAXVALUE), primary key on
# aid. Random balance updates (bench/workloads/update_balance.sql) name the
# parent, so each one is routed to a partition and fires the capture
# triggers of the parent; the same count/sum per bid IMMV as agg_update
# reads the parent. Run it beside agg_update to compare: the goal is
# immediate and deferred TPS ratios within 0.05 of agg_update's, measured
# in the same run. Declarations only: see lib/scenario.sh.

SCENARIO_DESC="single-row UPDATE of pgbench_accounts.abalance, the table range-partitioned by aid into 10 partitions; view: count/sum per bid"
SCENARIO_KIND=tps
SCENARIO_WORKLOAD=update_balance.sql
SCENARIO_MODES="immediate deferred matview"
# The absolute goals of agg_update.
SCENARIO_TARGETS="immediate:1:0.5 immediate:4:0.4 deferred:1:0.85 deferred:4:0.85"
SCENARIO_SETUP_SQL="
ALTER TABLE pgbench_accounts RENAME TO pgbench_accounts_flat;
CREATE TABLE pgbench_accounts (LIKE pgbench_accounts_flat INCLUDING DEFAULTS) PARTITION BY RANGE (aid);
DO \$\$
DECLARE
  n bigint := (SELECT count(*) FROM pgbench_accounts_flat);
  parts int := 10;
  step bigint := (n + parts - 1) / parts;
BEGIN
  FOR i IN 1..parts LOOP
    EXECUTE format('CREATE TABLE pgbench_accounts_%s PARTITION OF pgbench_accounts FOR VALUES FROM (%s) TO (%s)',
                   i,
                   CASE WHEN i = 1 THEN 'MINVALUE' ELSE ((i - 1) * step + 1)::text END,
                   CASE WHEN i = parts THEN 'MAXVALUE' ELSE (i * step + 1)::text END);
  END LOOP;
END
\$\$;
INSERT INTO pgbench_accounts SELECT * FROM pgbench_accounts_flat;
DROP TABLE pgbench_accounts_flat;
ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid);
"

bench_view branch_totals \
  'SELECT bid, count(*), sum(abalance) FROM pgbench_accounts GROUP BY bid'
