CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- A backlog larger than ivmx.max_batch_rows drains in several batches, each
-- ending at a snapshot the scheduler took earlier. A batch that makes a
-- group lose its min/max (or a non-finite sum) recomputes the group: it must
-- read the table as of the batch's end, not as it is now (which already
-- holds the later batches' changes, then applied on top of it: sums counted
-- twice). Each case below builds a backlog while the scheduler is off (it
-- still takes a snapshot when a commit wakes it: each commit is followed by
-- a pause), then lets the scheduler drain it with one log row per batch,
-- and checks the IMMVs against their queries.
ALTER SYSTEM SET ivmx.enabled = off;
ALTER SYSTEM SET ivmx.max_batch_rows = 1;
ALTER SYSTEM SET ivmx.full_refresh_ratio = 0;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
CREATE SCHEMA split;
SET search_path = split, public;
CREATE FUNCTION split.drain() RETURNS void LANGUAGE plpgsql AS $$
DECLARE deadline timestamptz := clock_timestamp() + interval '30 s';
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM ivmx.immv_status s JOIN pg_class c ON c.oid = s.immv
                               WHERE c.relnamespace = 'split'::regnamespace AND s.pending_rows > 0);
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
\set verify 'SELECT ivmx.verify_immv(''g_sum_min'') AS g_sum_min, ivmx.verify_immv(''g_avg_max'') AS g_avg_max, ivmx.verify_immv(''all_min_max'') AS all_min_max, ivmx.verify_immv(''g_float'') AS g_float'
\set batches 'SELECT count(*) > 1 AS split, sum(rows_consumed) AS rows FROM ivmx.refresh_history WHERE immvrelid = ''g_sum_min''::regclass'
\set pause 'SELECT pg_sleep(0.3) \\g /dev/null'
\set drain 'ALTER SYSTEM RESET ivmx.enabled; SELECT pg_reload_conf() AS reloaded; SELECT split.drain(); ALTER SYSTEM SET ivmx.enabled = off; SELECT pg_reload_conf() AS reloaded, pg_sleep(0.3) IS NOT NULL AS slept;'

CREATE TABLE t (id int PRIMARY KEY, g int, v numeric, f float8);
INSERT INTO t VALUES (1, 1, 1, 1), (2, 1, 2, 2), (3, 1, 3, 3), (4, 2, 10, 10), (5, 2, 20, 20);
SELECT ivmx.create_immv('g_sum_min', 'SELECT g, sum(v) AS s, min(v) AS m FROM t GROUP BY g', mode => 'deferred');
SELECT ivmx.create_immv('g_avg_max', 'SELECT g, count(*) AS n, avg(v) AS a, max(v) AS x FROM t GROUP BY g', mode => 'deferred');
SELECT ivmx.create_immv('all_min_max', 'SELECT count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi FROM t', mode => 'deferred');
SELECT ivmx.create_immv('g_float', 'SELECT g, sum(f) AS s, count(*) AS n FROM t GROUP BY g', mode => 'deferred');

-- The minimal case: two transactions; the first makes group 1 lose its
-- min, the second changes the same group.
UPDATE t SET v = 10 WHERE id = 1;
:pause
UPDATE t SET v = 20 WHERE id = 3;
:pause
:drain
:batches;
:verify;
SELECT g, s, m FROM g_sum_min ORDER BY g;

-- Later batches that delete and re-insert the lost extreme, insert a row
-- and delete it again (netted: it was never there as of the earlier
-- batch's end), and move rows between groups.
DELETE FROM t WHERE id = 4;
:pause
INSERT INTO t VALUES (6, 2, 10, 10);
:pause
INSERT INTO t VALUES (7, 2, 5, 5);
:pause
DELETE FROM t WHERE id = 7;
:pause
UPDATE t SET g = 2 WHERE id = 2;
:pause
UPDATE t SET v = v + 100 WHERE id = 5;
:pause
DELETE FROM t WHERE id = 6;
:pause
BEGIN;
INSERT INTO t VALUES (8, 1, 0.5, 0.5);
:pause
DELETE FROM t WHERE id = 1;
:pause
COMMIT;
:pause
:drain
:verify;
SELECT g, s, m FROM g_sum_min ORDER BY g;
SELECT g, n, a, x FROM g_avg_max ORDER BY g;
SELECT n, s, lo, hi FROM all_min_max;

-- Non-finite sums are recomputed when an Infinity or NaN leaves a group.
UPDATE t SET f = 'Infinity' WHERE id = 5;
:pause
UPDATE t SET f = 'NaN' WHERE id = 2;
:pause
UPDATE t SET f = 7 WHERE id = 5;
:pause
UPDATE t SET f = 8 WHERE id = 2;
:pause
UPDATE t SET v = v * 2;
:pause
:drain
:verify;
SELECT g, s, n FROM g_float ORDER BY g;

-- A random backlog of single-row transactions, drained one row at a time.
SELECT setseed(0.42);
DO $$
DECLARE i int;
BEGIN
    FOR i IN 1..60 LOOP
        CASE floor(random() * 3)::int
            WHEN 0 THEN INSERT INTO t VALUES (100 + i, floor(random() * 3)::int, floor(random() * 50), floor(random() * 50))
                        ON CONFLICT DO NOTHING;
            WHEN 1 THEN UPDATE t SET v = floor(random() * 50), g = floor(random() * 3)::int
                         WHERE id = (SELECT id FROM t ORDER BY random() LIMIT 1);
            ELSE DELETE FROM t WHERE id = (SELECT id FROM t ORDER BY random() LIMIT 1);
        END CASE;
        COMMIT;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
:drain
:verify;

-- One table on the nullable side of a LEFT JOIN with a function in FROM:
-- whether a row of the function had a match is derived from the table's
-- state, which a batch ending before the latest change would read too
-- late. Its backlog is not split.
CREATE TABLE tk (id int PRIMARY KEY, k int);
INSERT INTO tk VALUES (1, 1), (2, 1), (3, 3);
SELECT ivmx.create_immv('series_left', 'SELECT s.i, count(*) AS rows, count(tk.id) AS n FROM generate_series(1, 3) s(i) LEFT JOIN tk ON tk.k = s.i GROUP BY s.i', mode => 'deferred');
DELETE FROM tk WHERE id = 1;
:pause
DELETE FROM tk WHERE id = 2;
:pause
INSERT INTO tk VALUES (4, 2);
:pause
UPDATE tk SET k = 1 WHERE id = 3;
:pause
:drain
SELECT count(*) AS refreshes, sum(rows_consumed) AS rows FROM ivmx.refresh_history
 WHERE immvrelid = 'series_left'::regclass AND rows_consumed > 0;
SELECT ivmx.verify_immv('series_left') AS series_left;
SELECT i, rows, n FROM series_left ORDER BY i;

SET client_min_messages = warning;
DROP SCHEMA split CASCADE;
RESET client_min_messages;
RESET search_path;
ALTER SYSTEM RESET ivmx.enabled;
ALTER SYSTEM RESET ivmx.max_batch_rows;
ALTER SYSTEM RESET ivmx.full_refresh_ratio;
SELECT pg_reload_conf();
