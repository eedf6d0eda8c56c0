CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- The display scale of sum and avg over numeric: PostgreSQL's sum has the
-- largest scale of its inputs (1 + 1.00 = 2.00), so deleting the inputs
-- with the largest scale changes how the sum is shown (1.00 - 1.00 + 1 is
-- shown 1). The IMMV shows what the query shows, after every change, in
-- immediate and deferred mode, over a join and nested. :check compares every IMMV with its query after each change,
-- with verify_immv and by the text form of its visible columns (EXCEPT ALL
-- both ways), so that 1.00 and 1 differ.
-- setup/aggregate_checks.sql turns the scheduler off (only ivmx.flush
-- applies deferred changes) and defines :check and :flush.
\set schema num_scale
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE acct (id int PRIMARY KEY, k text, v numeric, w numeric(12,3));
CREATE TABLE tags (k text PRIMARY KEY, tag text);
INSERT INTO tags VALUES ('a', 'A'), ('b', 'B'), ('c', 'C');
INSERT INTO acct VALUES (1, 'a', 1, 1), (2, 'a', 1.00, 2.5), (3, 'b', 0.125, NULL), (4, 'b', 2, 3),
    (5, NULL, NULL, NULL), (6, 'c', 10.5, 0);

\set grouped_query 'SELECT k, sum(v) AS s, avg(v) AS a, sum(w) AS sw, avg(w) AS aw, sum(v) * 2 AS s2, sum(v) FILTER (WHERE id > 2) AS s_late, count(*) AS n FROM acct GROUP BY k'
SELECT ivmx.create_immv('s_grouped', :'grouped_query');
SELECT ivmx.create_immv('sd_grouped', :'grouped_query', mode => 'deferred');
\set global_query 'SELECT sum(v) AS s, avg(v) AS a, sum(v + w) AS svw FROM acct'
SELECT ivmx.create_immv('s_global', :'global_query');
SELECT ivmx.create_immv('sd_global', :'global_query', mode => 'deferred');
\set join_query 'SELECT t.tag, sum(a.v) AS s, avg(a.v * 2) AS a2 FROM tags t LEFT JOIN acct a ON a.k = t.k GROUP BY t.tag'
SELECT ivmx.create_immv('s_join', :'join_query');
SELECT ivmx.create_immv('sd_join', :'join_query', mode => 'deferred');
-- Nested: the sums of an IMMV's sums (its column has no scale of its own).
SELECT ivmx.create_immv('s_nested', 'SELECT n > 1 AS many, sum(s) AS s, avg(a) AS a FROM s_grouped GROUP BY n > 1');
SELECT ivmx.create_immv('sd_nested', 'SELECT sum(s) AS s FROM sd_grouped', mode => 'deferred');
-- numeric(12,3) sums cannot drift: they keep no flag.
SELECT attname FROM pg_attribute WHERE attrelid = 's_grouped'::regclass AND attname LIKE '__ivm_lost%' ORDER BY attnum;
:check;
SELECT k, s, a, sw, aw, s2, s_late, n FROM s_grouped ORDER BY k;

-- Deleting the input with the largest scale: 2.00 becomes 1.
DELETE FROM acct WHERE id = 2;
:check;
:flush;
:check;
SELECT k, s, a, sw, aw, s2, s_late, n FROM s_grouped ORDER BY k;
SELECT s, a, svw FROM s_global;

-- An UPDATE that lowers the scale of the only input having it, one that
-- raises it, and one that keeps it.
UPDATE acct SET v = 0.5 WHERE id = 3;
:check;
UPDATE acct SET v = 2.000000 WHERE id = 4;
:check;
UPDATE acct SET v = v + 1 WHERE id = 6;
:check;
:flush;
:check;
SELECT k, s, a, sw, aw, s2, s_late, n FROM s_grouped ORDER BY k;

-- Inserts with a larger scale, then their deletion; two inputs sharing the
-- largest scale, one deleted (the scale stays).
INSERT INTO acct VALUES (7, 'a', 0.0001, 1), (8, 'a', -0.0001, 1), (9, 'c', 1.10, 1), (10, 'c', 2.20, 1);
:check;
DELETE FROM acct WHERE id IN (7, 8);
:check;
DELETE FROM acct WHERE id = 9;
:check;
:flush;
:check;
SELECT k, s, a, sw, aw, s2, s_late, n FROM s_grouped ORDER BY k;

-- Large and negative values; zero written with a scale.
INSERT INTO acct VALUES (11, 'd', 123456789012345678901234567890.123456789, 0), (12, 'd', -123456789012345678901234567890, 0),
    (13, 'e', 0.000, 0), (14, 'e', 0, 0);
:check;
DELETE FROM acct WHERE id IN (11, 13);
:check;
:flush;
:check;
SELECT k, s, a, sw, aw, s2, s_late, n FROM s_grouped ORDER BY k;

-- A transaction whose rows cancel each other within a deferred batch: a
-- larger scale inserted and deleted again.
BEGIN;
INSERT INTO acct VALUES (20, 'c', 5.55555, 1);
UPDATE acct SET v = 5.5 WHERE id = 20;
DELETE FROM acct WHERE id = 20;
UPDATE acct SET v = 1.5 WHERE id = 10;
COMMIT;
:check;
:flush;
:check;
SELECT k, s, a, sw, aw, s2, s_late, n FROM s_grouped ORDER BY k;
SELECT tag, s, a2 FROM s_join ORDER BY tag;

-- Changes of the other table of the join; TRUNCATE; NaN.
DELETE FROM tags WHERE k = 'a';
INSERT INTO tags VALUES ('d', 'D');
:check;
INSERT INTO acct VALUES (30, 'b', 'NaN', 0);
:check;
DELETE FROM acct WHERE id = 30;
:check;
:flush;
:check;
TRUNCATE acct;
:check;
:flush;
:check;
INSERT INTO acct VALUES (40, 'a', 1.0, 1), (41, 'a', 2, 1);
DELETE FROM acct WHERE id = 40;
:check;
:flush;
:check;
SELECT k, s, a, sw, aw, s2, s_late, n FROM s_grouped ORDER BY k;

DROP SCHEMA num_scale CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
