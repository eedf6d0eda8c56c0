CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- GROUPING SETS, ROLLUP and CUBE: the view is kept as a plain GROUP BY over
-- one more constant FROM item numbering the grouping sets, every key NULL in
-- the sets that omit it and the set number a hidden key; the groups of an
-- empty set () exist over no row too, as an aggregate without GROUP BY.
-- ROLLUP, CUBE, GROUPING SETS with () and duplicate sets, mixes with plain
-- keys, GROUPING(), NULL keys in the data, min/max losing an extreme,
-- HAVING, count(DISTINCT), an outer join, a nested IMMV over a rollup, in
-- immediate and deferred mode, every kind of change to every table, and the
-- refusals. :check compares every IMMV with its query after each change
-- (verify_immv, and the text form of its visible columns).
\set schema grouping_sets_views
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE regions (name text PRIMARY KEY, zone text NOT NULL);
CREATE TABLE sales (id int PRIMARY KEY, region text, customer int, amount numeric, qty int NOT NULL);
INSERT INTO regions VALUES ('north', 'A'), ('south', 'A'), ('east', 'B'), ('west', 'C');
INSERT INTO sales VALUES (1, 'north', 1, 100, 1), (2, 'north', 2, 250.50, 3), (3, 'south', 1, 40, 2),
    (4, 'east', 3, 75, 5), (5, 'east', 3, 80, 1), (6, NULL, 4, 10, 1), (7, 'north', 1, 5, 2), (8, NULL, 5, 1, 7);

-- ROLLUP with GROUPING(): the total row and the group of a NULL region are
-- distinct rows.
\set q_rollup 'SELECT region, customer, count(*) AS n, sum(amount) AS total, GROUPING(region, customer) AS g FROM sales GROUP BY ROLLUP (region, customer)'
SELECT ivmx.create_immv('gs_rollup', :'q_rollup');
SELECT ivmx.create_immv('gsd_rollup', :'q_rollup', mode => 'deferred');
-- CUBE over two keys, with avg and an expression over aggregates and keys.
\set q_cube 'SELECT region, qty, count(*) AS n, avg(amount) AS mean, coalesce(region, ''all'') || '':'' || count(*) AS label FROM sales GROUP BY CUBE (region, qty)'
SELECT ivmx.create_immv('gs_cube', :'q_cube');
SELECT ivmx.create_immv('gsd_cube', :'q_cube', mode => 'deferred');
-- GROUPING SETS with (), a duplicate set and a plain key next to them.
\set q_sets 'SELECT customer, region, qty, count(*) AS n, sum(qty) AS total_qty FROM sales GROUP BY customer, GROUPING SETS ((region), (region), (qty), ())'
SELECT ivmx.create_immv('gs_sets', :'q_sets');
SELECT ivmx.create_immv('gsd_sets', :'q_sets', mode => 'deferred');
-- Sets with () only: a row even over no input.
\set q_empty 'SELECT count(*) AS n, sum(amount) AS total, max(amount) AS top FROM sales GROUP BY GROUPING SETS ((), ())'
SELECT ivmx.create_immv('gs_empty', :'q_empty');
SELECT ivmx.create_immv('gsd_empty', :'q_empty', mode => 'deferred');
-- min/max (an extreme deleted is recomputed), count(DISTINCT).
\set q_extreme 'SELECT region, min(amount) AS low, max(qty) AS high, count(DISTINCT customer) AS customers FROM sales GROUP BY ROLLUP (region)'
SELECT ivmx.create_immv('gs_extreme', :'q_extreme');
SELECT ivmx.create_immv('gsd_extreme', :'q_extreme', mode => 'deferred');
-- HAVING over an aggregate and GROUPING().
\set q_having 'SELECT region, customer, sum(amount) AS total FROM sales GROUP BY CUBE (region, customer) HAVING sum(amount) > 50 OR GROUPING(region) = 1'
SELECT ivmx.create_immv('gs_having', :'q_having');
SELECT ivmx.create_immv('gsd_having', :'q_having', mode => 'deferred');
-- An outer join.
\set q_join 'SELECT r.zone, r.name, count(s.id) AS n, sum(s.qty) AS qty FROM regions r LEFT JOIN sales s ON s.region = r.name GROUP BY ROLLUP (r.zone, r.name)'
SELECT ivmx.create_immv('gs_join', :'q_join');
SELECT ivmx.create_immv('gsd_join', :'q_join', mode => 'deferred');
-- Nested: an IMMV over the rollup IMMV, and a rollup over an IMMV.
SELECT ivmx.create_immv('gs_nested', 'SELECT g, count(*) AS groups, sum(n) AS n FROM gs_rollup GROUP BY g');
SELECT ivmx.create_immv('gs_over', 'SELECT zone, sum(n) AS n FROM gs_join GROUP BY ROLLUP (zone)');
:check;
SELECT region, customer, n, total, g FROM gs_rollup ORDER BY g, region, customer;
SELECT n, total, top FROM gs_empty ORDER BY n;
SELECT region, low, high, customers FROM gs_extreme ORDER BY region;
-- The hidden set number keeps the total apart from the NULL region.
SELECT region, n, __ivm_gset__ FROM gs_rollup WHERE customer IS NULL ORDER BY __ivm_gset__, region;

INSERT INTO sales VALUES (9, 'south', 2, 30, 4), (10, 'south', 6, 200, 2), (11, 'west', 7, 12.25, 9),
    (12, NULL, NULL, NULL, 3);
:check;
:flush;
:check;
UPDATE sales SET region = CASE region WHEN 'north' THEN 'west' WHEN 'west' THEN 'north' ELSE region END;
:check;
UPDATE sales SET amount = amount * 3, qty = qty + 1 WHERE region = 'east';
:check;
:flush;
:check;
-- Extremes deleted: the max qty and the min amount go.
DELETE FROM sales WHERE id IN (11, 6);
:check;
:flush;
:check;
SELECT region, low, high, customers FROM gs_extreme ORDER BY region;
-- The other table of the join.
INSERT INTO regions VALUES ('central', 'B');
UPDATE regions SET zone = 'C' WHERE name = 'east';
DELETE FROM regions WHERE name = 'west';
:check;
:flush;
:check;
-- Everything goes: the groups of () stay, with count 0.
DELETE FROM sales;
:check;
:flush;
:check;
SELECT n, total, top FROM gs_empty ORDER BY n;
SELECT region, customer, n, total, g FROM gs_rollup ORDER BY g, region, customer;
SELECT region, low, high, customers FROM gs_extreme ORDER BY region;
INSERT INTO sales VALUES (1, 'north', 1, 100, 1), (2, NULL, 2, 5, 3);
:check;
:flush;
:check;
TRUNCATE sales;
:check;
:flush;
:check;
INSERT INTO sales VALUES (1, 'north', 1, 100, 1), (2, 'south', 2, 5, 3), (3, NULL, NULL, 7, 2);
TRUNCATE regions CASCADE;
:check;
:flush;
:check;
INSERT INTO regions VALUES ('north', 'A'), ('south', 'B');
:check;
:flush;
:check;
-- A batch of changes in one transaction, flushed at once.
BEGIN;
INSERT INTO sales VALUES (4, 'north', 3, 1, 1), (5, 'south', 3, 2, 2);
UPDATE sales SET amount = NULL WHERE id = 1;
DELETE FROM sales WHERE id = 3;
COMMIT;
:check;
:flush;
:check;
-- A refresh gives the same rows.
SELECT ivmx.refresh_immv('gs_rollup', true);
SELECT ivmx.refresh_immv('gsd_cube', true);
:check;

-- GROUP BY () alone, GROUP BY DISTINCT, a key-derived expression.
SELECT ivmx.create_immv('gs_unit', 'SELECT count(*) AS n, sum(qty) AS total_qty FROM sales GROUP BY ()');
SELECT ivmx.create_immv('gs_gdistinct', 'SELECT region, customer, count(*) AS n FROM sales GROUP BY DISTINCT ROLLUP (region, customer), ROLLUP (region)');
SELECT ivmx.create_immv('gsd_upper', 'SELECT upper(region) AS up, customer IS NULL AS no_customer, GROUPING(customer) AS g, sum(qty) AS total_qty FROM sales GROUP BY GROUPING SETS ((region, customer), (region), (customer))', mode => 'deferred');
:check;
INSERT INTO sales VALUES (6, 'east', NULL, 3, 4), (7, 'east', 3, 4, 5);
UPDATE sales SET customer = 1 WHERE id = 2;
:check;
:flush;
:check;
DELETE FROM sales WHERE region = 'north';
:check;
:flush;
:check;

-- A backlog drained by the scheduler in batches of one log row: a batch
-- that makes a group (and the total) lose an extreme recomputes it as of the
-- batch's end, the total over no row once the last row went.
CREATE FUNCTION drain() RETURNS void LANGUAGE plpgsql AS $$
DECLARE deadline timestamptz := clock_timestamp() + interval '30 s';
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM ivmx.immv_status s JOIN pg_class c ON c.oid = s.immv
                               WHERE c.relnamespace = 'grouping_sets_views'::regnamespace AND s.pending_rows > 0);
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
\set pause 'SELECT pg_sleep(0.3) \\g /dev/null'
CREATE TABLE split_t (id int PRIMARY KEY, g int, v numeric);
INSERT INTO split_t VALUES (1, 1, 1), (2, 1, 2), (3, 2, 10), (4, 2, 20);
SELECT ivmx.create_immv('gsd_split', 'SELECT g, min(v) AS lo, max(v) AS hi, count(*) AS n FROM split_t GROUP BY ROLLUP (g)', mode => 'deferred');
ALTER SYSTEM SET ivmx.max_batch_rows = 1;
ALTER SYSTEM SET ivmx.full_refresh_ratio = 0;
SELECT pg_reload_conf();
DELETE FROM split_t WHERE id = 1;
:pause
UPDATE split_t SET v = 0 WHERE id = 2;
:pause
DELETE FROM split_t WHERE id = 4;
:pause
DELETE FROM split_t;
:pause
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
SELECT drain();
ALTER SYSTEM SET ivmx.enabled = off;
ALTER SYSTEM RESET ivmx.max_batch_rows;
ALTER SYSTEM RESET ivmx.full_refresh_ratio;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT count(*) > 1 AS split FROM ivmx.refresh_history WHERE immvrelid = 'gsd_split'::regclass AND rows_consumed > 0;
:check;
SELECT g, lo, hi, n FROM gsd_split;

-- Refused: too many grouping sets.
SELECT ivmx.create_immv('gs_many', 'SELECT count(*) FROM sales GROUP BY CUBE (id, region, customer, amount, qty, id + 1, qty + 1)');
SELECT ivmx.create_immv('gs_distinct', 'SELECT DISTINCT region FROM sales GROUP BY ROLLUP (region)');

DROP SCHEMA grouping_sets_views CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
