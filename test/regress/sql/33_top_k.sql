CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- ORDER BY ... LIMIT [OFFSET] (top-K) over a table, a join, a grouped query,
-- a partitioned table and an IMMV, WITH TIES, in immediate and deferred
-- mode: the IMMV holds the current top rows, refilled from the base when
-- rows leave it. Orders are total (ties broken by a key) except for WITH
-- TIES, which keeps every tied row. :check compares every IMMV with its
-- query after each change.
\set schema top_views
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE acc (aid int PRIMARY KEY, bid int, bal numeric, tag text);
CREATE TABLE branch (bid int PRIMARY KEY, city text);
INSERT INTO acc SELECT g, g % 4, (g * 37) % 101, CASE WHEN g % 7 = 0 THEN NULL ELSE 't' || g % 3 END
  FROM generate_series(1, 200) g;
INSERT INTO branch VALUES (0, 'Oslo'), (1, 'Rome'), (2, 'Lima'), (3, NULL);
CREATE INDEX ON acc (bal DESC, aid);

\set q_top 'SELECT aid, bal FROM acc ORDER BY bal DESC, aid LIMIT 5'
SELECT ivmx.create_immv('t_top', :'q_top');
SELECT ivmx.create_immv('td_top', :'q_top', mode => 'deferred');
-- NULLs first in ascending order, an OFFSET, a filter.
\set q_offset 'SELECT aid, bal, tag FROM acc WHERE bid <> 1 ORDER BY tag NULLS FIRST, bal, aid DESC LIMIT 4 OFFSET 2'
SELECT ivmx.create_immv('t_offset', :'q_offset');
SELECT ivmx.create_immv('td_offset', :'q_offset', mode => 'deferred');
-- The top groups by an aggregate; the top rows of a join.
\set q_groups 'SELECT bid, sum(bal) AS total, count(*) AS n FROM acc GROUP BY bid ORDER BY total DESC, bid LIMIT 2'
SELECT ivmx.create_immv('t_groups', :'q_groups');
SELECT ivmx.create_immv('td_groups', :'q_groups', mode => 'deferred');
\set q_join 'SELECT a.aid, a.bal, b.city FROM acc a JOIN branch b USING (bid) ORDER BY b.city DESC NULLS LAST, a.aid LIMIT 3'
SELECT ivmx.create_immv('t_join', :'q_join');
-- WITH TIES keeps every row tied with the last; DISTINCT values.
SELECT ivmx.create_immv('t_ties', 'SELECT bal FROM acc ORDER BY bal DESC FETCH FIRST 3 ROWS WITH TIES');
SELECT ivmx.create_immv('t_distinct', 'SELECT DISTINCT tag FROM acc ORDER BY tag LIMIT 2');
-- Over an IMMV: the top branches of a grouped IMMV.
SELECT ivmx.create_immv('t_sums', 'SELECT bid, sum(bal) AS total FROM acc GROUP BY bid');
SELECT ivmx.create_immv('t_over', 'SELECT bid, total FROM t_sums ORDER BY total, bid LIMIT 2');
:check;
SELECT aid, bal FROM t_top ORDER BY bal DESC, aid;

-- A row enters the top; the top rows leave (refilled from the base).
UPDATE acc SET bal = 500 WHERE aid = 7;
:check;
UPDATE acc SET bal = -1 WHERE aid IN (SELECT aid FROM t_top);
:check;
:flush;
:check;
SELECT aid, bal FROM t_top ORDER BY bal DESC, aid;
-- Rows below the top change: nothing to do for the top.
UPDATE acc SET tag = 'x' WHERE bal < 10;
INSERT INTO acc VALUES (1000, 2, NULL, NULL), (1001, 3, 0.50, 't1'), (1002, 1, 100.00, 't9');
:check;
DELETE FROM acc WHERE aid % 3 = 0;
UPDATE branch SET city = 'Bern' WHERE bid = 3;
:check;
:flush;
:check;
-- Fewer rows than the limit, then none, then back.
DELETE FROM acc WHERE aid > 20;
:check;
TRUNCATE acc;
:check;
INSERT INTO acc SELECT g, g % 4, g % 5, 't' || g % 2 FROM generate_series(1, 30) g;
:check;
:flush;
:check;
-- A transaction that changes the top twice and partly undoes it.
BEGIN;
UPDATE acc SET bal = 99 WHERE aid = 1;
INSERT INTO acc VALUES (2000, 0, 98, 'z');
SAVEPOINT s;
DELETE FROM acc WHERE aid = 1;
ROLLBACK TO s;
UPDATE acc SET bal = bal + 1 WHERE aid = 2000;
COMMIT;
:check;
:flush;
:check;
SELECT bal FROM t_ties ORDER BY bal DESC;
SELECT bid, total FROM t_over ORDER BY total, bid;

-- A top-K over a partitioned table.
CREATE TABLE ev (id int NOT NULL, score int) PARTITION BY RANGE (id);
CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (100);
CREATE TABLE ev2 PARTITION OF ev FOR VALUES FROM (100) TO (200);
INSERT INTO ev SELECT g, (g * 13) % 50 FROM generate_series(0, 199) g;
SELECT ivmx.create_immv('t_ev', 'SELECT id, score FROM ev ORDER BY score DESC, id LIMIT 3');
INSERT INTO ev2 VALUES (150, 70);
UPDATE ev SET id = id + 100 WHERE id = 150 - 100;
DELETE FROM ev1 WHERE score > 40;
:check;

-- What the maintenance runs, and what stays refused.
SELECT * FROM ivmx.explain_immv('t_top') LIMIT 2;
SELECT ivmx.create_immv('rej', 'SELECT aid FROM acc ORDER BY bal LIMIT 3');
SELECT ivmx.create_immv('rej', 'SELECT aid, bal FROM acc ORDER BY bal');
SELECT ivmx.create_immv('rej', 'SELECT aid, bal FROM acc LIMIT 3');
SELECT ivmx.create_immv('rej', 'SELECT aid, tag FROM acc ORDER BY tag USING ~<~, aid LIMIT 3');
SELECT ivmx.create_immv('rej', 'SELECT bid, count(*) AS n FROM acc GROUP BY bid HAVING count(*) > 1 ORDER BY n DESC, bid LIMIT 1');
SELECT count(*) AS leftovers FROM pg_class WHERE relname = 'rej';

DROP SCHEMA top_views CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
