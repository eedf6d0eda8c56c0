CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Window functions (row_number, rank, dense_rank, lag/lead, running sums,
-- count over the whole view, named windows) and DISTINCT ON over one table,
-- a partitioned table and an IMMV, in immediate and deferred mode: a change
-- recomputes the partitions of the rows it changed (NULL keys too); a window
-- without PARTITION BY recomputes the whole view. Orders are total (ties
-- broken by the key). :check compares every IMMV with its query after each
-- change.
\set schema window_views
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE ev (id int PRIMARY KEY, g int, v numeric, s text);
INSERT INTO ev SELECT i, i % 4, (i * 7) % 23, 's' || (i % 3) FROM generate_series(1, 60) i;
INSERT INTO ev VALUES (100, NULL, 5, 'n'), (101, NULL, 6.50, NULL);

\set q_rank 'SELECT id, g, v, row_number() OVER (PARTITION BY g ORDER BY v DESC, id) AS rn, rank() OVER w AS rk, dense_rank() OVER w AS dr FROM ev WINDOW w AS (PARTITION BY g ORDER BY v)'
SELECT ivmx.create_immv('w_rank', :'q_rank');
SELECT ivmx.create_immv('wd_rank', :'q_rank', mode => 'deferred');
\set q_lag 'SELECT id, g, lag(v) OVER (PARTITION BY g ORDER BY id) AS prev, first_value(id) OVER (PARTITION BY g ORDER BY v, id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS fv, lead(v, 2) OVER (PARTITION BY g ORDER BY id) AS next2, sum(v) OVER (PARTITION BY g ORDER BY id) AS running FROM ev WHERE s IS DISTINCT FROM ''s2'''
SELECT ivmx.create_immv('w_lag', :'q_lag');
SELECT ivmx.create_immv('wd_lag', :'q_lag', mode => 'deferred');
-- Two keys; a key that is an expression; no PARTITION BY at all.
SELECT ivmx.create_immv('w_two', 'SELECT id, row_number() OVER (PARTITION BY g, s ORDER BY id) AS rn FROM ev');
SELECT ivmx.create_immv('w_expr', 'SELECT id, v, avg(v) OVER (PARTITION BY v > 10) AS side_avg FROM ev');
SELECT ivmx.create_immv('w_all', 'SELECT id, sum(v) OVER (ORDER BY id) AS running, count(*) OVER () AS total FROM ev WHERE v > 3');
-- DISTINCT ON: the first row of each group by the order.
\set q_first 'SELECT DISTINCT ON (g) g, id, v FROM ev ORDER BY g, v DESC, id'
SELECT ivmx.create_immv('d_first', :'q_first');
SELECT ivmx.create_immv('dd_first', :'q_first', mode => 'deferred');
SELECT ivmx.create_immv('d_two', 'SELECT DISTINCT ON (s, g) s, g, id FROM ev ORDER BY s, g, id DESC');
-- Over an IMMV; a top-K of a window view.
SELECT ivmx.create_immv('w_sums', 'SELECT g, sum(v) AS total FROM ev GROUP BY g');
SELECT ivmx.create_immv('w_over', 'SELECT g, total, rank() OVER (ORDER BY total DESC, g) AS place FROM w_sums');
SELECT ivmx.create_immv('w_top', 'SELECT id, g, row_number() OVER (PARTITION BY g ORDER BY v, id) AS rn FROM ev ORDER BY rn, id LIMIT 3');
:check;
SELECT id, g, rn, rk, dr FROM w_rank WHERE g = 1 ORDER BY rn;

-- A row moves up in its partition, then to another partition.
UPDATE ev SET v = 100 WHERE id = 5;
:check;
UPDATE ev SET g = 3 WHERE id IN (1, 2, 100);
:check;
:flush;
:check;
-- Partitions shrink, grow, appear (a new key) and gain NULL keys.
DELETE FROM ev WHERE id % 5 = 0;
INSERT INTO ev VALUES (200, 1, 50, 'x'), (201, NULL, 1, 'y'), (202, 9, 9.00, NULL);
:check;
:flush;
:check;
-- A partition vanishes.
DELETE FROM ev WHERE g = 9;
:check;
-- A transaction block, partly cancelling.
BEGIN;
UPDATE ev SET v = v + 1 WHERE g = 1;
DELETE FROM ev WHERE id = 200;
INSERT INTO ev VALUES (300, 2, 0, 's0');
UPDATE ev SET s = 's2' WHERE id = 300;
COMMIT;
:check;
:flush;
:check;
SELECT g, id, v FROM d_first ORDER BY g;
-- Everything goes, then comes back.
TRUNCATE ev;
:check;
INSERT INTO ev SELECT i, i % 3, i % 7, 's' || (i % 2) FROM generate_series(1, 30) i;
:check;
:flush;
:check;
SELECT g, total, place FROM w_over ORDER BY place;

-- A window over a partitioned table: changes through the parent and straight
-- into a partition.
CREATE TABLE pe (id int NOT NULL, g int, v int) PARTITION BY RANGE (id);
CREATE TABLE pe1 PARTITION OF pe FOR VALUES FROM (0) TO (50);
CREATE TABLE pe2 PARTITION OF pe FOR VALUES FROM (50) TO (100);
INSERT INTO pe SELECT i, i % 3, i % 10 FROM generate_series(0, 99) i;
SELECT ivmx.create_immv('w_parts', 'SELECT id, g, row_number() OVER (PARTITION BY g ORDER BY v, id) AS rn FROM pe');
UPDATE pe SET id = id + 50 WHERE id < 5;
INSERT INTO pe2 VALUES (99, 0, -1);
DELETE FROM pe1 WHERE v = 3;
:check;

-- The top rows of each group: a window in a subquery, filtered outside.
CREATE TABLE sc (id int PRIMARY KEY, team text, pts int);
INSERT INTO sc SELECT i, (ARRAY['a', 'b', 'c', NULL])[i % 4 + 1], (i * 17) % 40 FROM generate_series(1, 40) i;
\set q_best 'SELECT team, id, pts, rn FROM (SELECT team, id, pts, row_number() OVER (PARTITION BY team ORDER BY pts DESC, id) AS rn FROM sc) s WHERE rn <= 2'
SELECT ivmx.create_immv('w_best', :'q_best');
SELECT ivmx.create_immv('wd_best', :'q_best', mode => 'deferred');
SELECT ivmx.create_immv('w_best_expr', 'SELECT s.team, s.pts * 2 AS double FROM (SELECT team, pts, rank() OVER (PARTITION BY team ORDER BY pts) AS r FROM sc WHERE pts > 5) s WHERE s.r = 1');
UPDATE sc SET pts = 100 WHERE id = 3;
DELETE FROM sc WHERE id IN (SELECT id FROM w_best WHERE team = 'b');
INSERT INTO sc VALUES (50, 'd', 1), (51, NULL, 99), (52, 'a', 39);
UPDATE sc SET team = 'c' WHERE id = 52;
:check;
:flush;
:check;
SELECT team, id, pts, rn FROM w_best ORDER BY team, rn;

-- Two roles. The owner of a window IMMV and of a top-K IMMV reads the table
-- through row security that hides other people's rows; the partitions it
-- recomputes read the base as the owner, so rows written for others never
-- reach its IMMVs. Another role cannot read those IMMVs, nor create one over
-- a table it may not trigger on.
CREATE ROLE win_owner;
CREATE ROLE win_other;
GRANT USAGE, CREATE ON SCHEMA window_views TO win_owner, win_other;
CREATE TABLE led (id int PRIMARY KEY, who text, amt int);
ALTER TABLE led ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON led FOR SELECT USING (who = current_user);
GRANT SELECT, TRIGGER ON led TO win_owner;
GRANT SELECT ON led TO win_other;
INSERT INTO led SELECT i, (ARRAY['win_owner', 'win_other'])[i % 2 + 1], i * 3 % 11 FROM generate_series(1, 20) i;
SET ROLE win_owner;
SELECT ivmx.create_immv('w_led', 'SELECT id, who, rank() OVER (PARTITION BY who ORDER BY amt, id) AS r FROM led');
SELECT ivmx.create_immv('t_led', 'SELECT id, amt FROM led ORDER BY amt DESC, id LIMIT 3');
RESET ROLE;
INSERT INTO led VALUES (100, 'win_other', 99), (101, 'win_owner', 50), (102, NULL, 98);
UPDATE led SET who = 'win_other' WHERE id = 2;
DELETE FROM led WHERE id = 4;
SET ROLE win_owner;
SELECT count(*) AS rows, count(*) FILTER (WHERE who <> 'win_owner' OR who IS NULL) AS others FROM w_led;
SELECT id, amt FROM t_led ORDER BY amt DESC, id;
RESET ROLE;
SELECT ivmx.verify_immv('w_led') AS w_led, ivmx.verify_immv('t_led') AS t_led;
SET ROLE win_other;
SELECT count(*) FROM w_led;
SELECT count(*) FROM t_led;
SELECT ivmx.create_immv('rej', 'SELECT id, row_number() OVER (ORDER BY id) AS r FROM led');
RESET ROLE;
DROP TABLE w_led, t_led, led;
DROP OWNED BY win_owner, win_other;
DROP ROLE win_owner;
DROP ROLE win_other;

-- What the maintenance runs, and what stays refused.
SELECT * FROM ivmx.explain_immv('w_rank') LIMIT 2;
SELECT ivmx.create_immv('rej', 'SELECT e.id, row_number() OVER (PARTITION BY e.g ORDER BY e.id) AS rn FROM ev e JOIN pe p ON p.id = e.id');
SELECT ivmx.create_immv('rej', 'SELECT g, count(*) AS n, rank() OVER (ORDER BY count(*)) AS r FROM ev GROUP BY g');
SELECT ivmx.create_immv('rej', 'SELECT DISTINCT g, row_number() OVER (ORDER BY g) AS r FROM ev');
SELECT ivmx.create_immv('rej', 'SELECT id, row_number() OVER (PARTITION BY g ORDER BY random()) AS r FROM ev');
SELECT ivmx.create_immv('rej', 'SELECT DISTINCT ON (g) g, id FROM ev ORDER BY g, id LIMIT 2');
SELECT ivmx.create_immv('rej', 'SELECT DISTINCT ON (g) g, id FROM ev');
SELECT ivmx.create_immv('rej', 'SELECT s.id FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM ev) s JOIN sc USING (id) WHERE s.rn < 3');
SELECT count(*) AS leftovers FROM pg_class WHERE relname = 'rej';

DROP SCHEMA window_views CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
