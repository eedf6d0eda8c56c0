CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Outer joins: LEFT, RIGHT and FULL joins, nested and mixed with inner
-- joins, with NULL join keys, aggregates, DISTINCT, min/max and WHERE
-- conditions that keep NULL-extended rows. Dangling rows (a row without a
-- match, extended with NULLs) must appear when a row's last match goes and
-- disappear when its first match comes, whichever side changes, and also when
-- one statement changes several tables.
-- :verify lists the IMMVs that differ from their query (none: an empty
-- string) and how many were checked; the file works in a schema of its own.

\set verify 'SELECT coalesce(string_agg(immvrelid::text, '','' ORDER BY immvrelid::text) FILTER (WHERE diff <> 0), '''') AS wrong, count(*) AS checked FROM (SELECT immvrelid, ivmx.verify_immv(immvrelid) AS diff FROM ivmx.immv JOIN pg_class ON pg_class.oid = immvrelid WHERE relnamespace = ''outer_joins''::regnamespace) AS v'

CREATE SCHEMA outer_joins;
SET search_path = outer_joins, public;

CREATE TABLE a (id int PRIMARY KEY, k int, v int);
CREATE TABLE b (id int PRIMARY KEY, k int, w int);
CREATE TABLE c (id int PRIMARY KEY, k int, x int);
INSERT INTO a VALUES (1, 1, 10), (2, 2, 20), (3, NULL, 30), (4, 4, 40);
INSERT INTO b VALUES (1, 1, 100), (2, 1, 110), (3, 3, 300), (4, NULL, 0);
INSERT INTO c VALUES (1, 1, 7), (2, 3, 8), (3, NULL, 9);

-- Two tables.
SELECT ivmx.create_immv('lj', 'SELECT a.id AS aid, a.v, b.id AS bid, b.w FROM a LEFT JOIN b ON a.k = b.k');
SELECT ivmx.create_immv('rj', 'SELECT a.id AS aid, b.id AS bid, b.w FROM a RIGHT JOIN b USING (k)');
SELECT ivmx.create_immv('fj', 'SELECT a.id AS aid, b.id AS bid, coalesce(a.k, b.k) AS k FROM a FULL JOIN b ON a.k = b.k');
-- A join condition that is not an equality, and one with a constant test.
SELECT ivmx.create_immv('lj_range', 'SELECT a.id AS aid, b.id AS bid FROM a LEFT JOIN b ON b.k BETWEEN a.k - 1 AND a.k AND b.w > 50');
-- WHERE conditions that are not null-rejecting: the dangling rows only.
SELECT ivmx.create_immv('lj_dangling', 'SELECT a.id AS aid, a.k FROM a LEFT JOIN b ON a.k = b.k WHERE b.id IS NULL');
SELECT ivmx.create_immv('fj_where', 'SELECT a.id AS aid, b.id AS bid FROM a FULL JOIN b ON a.k = b.k WHERE a.v IS NULL OR a.v > 15');
-- A self outer join.
SELECT ivmx.create_immv('self_lj', 'SELECT x.id AS xid, y.id AS yid FROM a x LEFT JOIN a y ON y.k = x.k + 1');
-- Aggregates, DISTINCT and min/max over outer joins.
SELECT ivmx.create_immv('lj_agg', 'SELECT b.k, count(*) AS n, count(a.id) AS matched, sum(a.v) AS total, avg(a.v) AS mean FROM b LEFT JOIN a ON a.k = b.k GROUP BY b.k');
SELECT ivmx.create_immv('fj_minmax', 'SELECT coalesce(a.k, b.k) AS k, min(a.v) AS lo, max(b.w) AS hi, count(*) AS n FROM a FULL JOIN b ON a.k = b.k GROUP BY coalesce(a.k, b.k)');
SELECT ivmx.create_immv('lj_distinct', 'SELECT DISTINCT b.k, a.k IS NULL AS unmatched FROM b LEFT JOIN a ON a.k = b.k');
SELECT ivmx.create_immv('lj_total', 'SELECT count(*) AS n, count(b.id) AS matched, sum(b.w) AS w FROM a LEFT JOIN b ON a.k = b.k');

-- Three tables: every combination of two joins out of INNER, LEFT, RIGHT and
-- FULL, in both association orders.
DO $$
DECLARE
    kinds text[] := ARRAY['INNER', 'LEFT', 'RIGHT', 'FULL'];
    j1 text;
    j2 text;
BEGIN
    FOREACH j1 IN ARRAY kinds LOOP
        FOREACH j2 IN ARRAY kinds LOOP
            PERFORM ivmx.create_immv(format('t3_%s_%s', lower(j1), lower(j2)),
                format('SELECT a.id AS aid, b.id AS bid, c.id AS cid, c.x FROM a %s JOIN b ON a.k = b.k %s JOIN c ON c.k = b.k', j1, j2));
            PERFORM ivmx.create_immv(format('t3n_%s_%s', lower(j1), lower(j2)),
                format('SELECT a.id AS aid, b.id AS bid, c.id AS cid FROM a %s JOIN (b %s JOIN c ON c.k = b.k) ON a.k = coalesce(b.k, c.k)', j1, j2));
        END LOOP;
    END LOOP;
END $$;
:verify;

SELECT aid, v, bid, w FROM lj ORDER BY aid, bid;
SELECT aid, bid, k FROM fj ORDER BY aid, bid;
SELECT k, n, matched, total, mean FROM lj_agg ORDER BY k;

-- A row of b gains a match: its dangling row in rj / fj goes.
INSERT INTO a VALUES (5, 3, 50);
:verify;
-- A second match for a row that already has one.
INSERT INTO a VALUES (6, 3, 60);
:verify;
-- A's row 2 gets its first match; NULL keys never match.
INSERT INTO b VALUES (5, 2, 200), (6, NULL, 600);
:verify;
SELECT aid, v, bid, w FROM lj ORDER BY aid, bid;
-- Losing one of two matches, then the last one: the dangling row comes back.
DELETE FROM b WHERE id = 1;
:verify;
DELETE FROM b WHERE id = 2;
:verify;
SELECT aid, v, bid, w FROM lj ORDER BY aid, bid;
-- Join keys changing on both sides, to NULL and back.
UPDATE a SET k = NULL WHERE id IN (5, 6);
:verify;
UPDATE b SET k = 4 WHERE id = 3;
:verify;
UPDATE a SET k = id WHERE k IS NULL;
:verify;
-- An update that changes nothing the views read.
UPDATE c SET x = x WHERE true;
:verify;
-- Swapping join keys in one statement.
UPDATE b SET k = CASE k WHEN 4 THEN 2 WHEN 2 THEN 4 ELSE k END;
:verify;
SELECT k, n, matched, total, mean FROM lj_agg ORDER BY k;
SELECT k, lo, hi, n FROM fj_minmax ORDER BY k;
-- One statement changing two tables: a writable CTE.
WITH gone AS (DELETE FROM a WHERE id = 2 RETURNING k),
     moved AS (UPDATE b SET k = 1 WHERE k IN (SELECT k FROM gone) RETURNING id)
INSERT INTO c SELECT 10 + id, 1, 0 FROM moved;
:verify;
-- Three tables in one statement, with several matches per row.
WITH x AS (INSERT INTO a VALUES (7, 1, 70), (8, 1, 80) RETURNING id),
     y AS (INSERT INTO b VALUES (7, 1, 700) RETURNING id)
UPDATE c SET k = 1 WHERE k IS NULL;
:verify;
-- Emptying tables one by one, then filling them again.
DELETE FROM c;
:verify;
TRUNCATE b;
:verify;
SELECT aid, v, bid, w FROM lj ORDER BY aid, bid;
SELECT k, n, matched, total, mean FROM lj_agg ORDER BY k;
SELECT n, matched, w FROM lj_total;
DELETE FROM a;
:verify;
INSERT INTO a SELECT g, g % 3, g FROM generate_series(1, 12) AS g;
:verify;
INSERT INTO b SELECT g, g % 4, g * 10 FROM generate_series(1, 8) AS g;
:verify;
INSERT INTO c SELECT g, g % 5, g FROM generate_series(1, 6) AS g;
:verify;
UPDATE a SET k = NULL WHERE id % 4 = 0;
:verify;
DELETE FROM b WHERE k = 1;
:verify;
SELECT k, n, matched, total, mean FROM lj_agg ORDER BY k;
SELECT k, lo, hi, n FROM fj_minmax ORDER BY k;
SELECT k, unmatched FROM lj_distinct ORDER BY k, unmatched;

-- In a transaction with a savepoint rolled back.
BEGIN;
INSERT INTO b VALUES (100, 1, 1);
SAVEPOINT s;
DELETE FROM a WHERE k = 1;
ROLLBACK TO SAVEPOINT s;
UPDATE c SET k = 0 WHERE id = 1;
COMMIT;
:verify;

-- A foreign key with ON DELETE CASCADE between two tables of one view.
CREATE TABLE parent (id int PRIMARY KEY, name text);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE, n int);
INSERT INTO parent VALUES (1, 'p1'), (2, 'p2'), (3, 'p3');
INSERT INTO child VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30);
SELECT ivmx.create_immv('family', 'SELECT p.name, count(c.id) AS children, sum(c.n) AS total FROM parent p LEFT JOIN child c ON c.parent_id = p.id GROUP BY p.name');
SELECT ivmx.create_immv('orphans', 'SELECT c.id FROM parent p RIGHT JOIN child c ON c.parent_id = p.id WHERE p.id IS NULL');
:verify;
DELETE FROM parent WHERE id = 1;
:verify;
UPDATE child SET parent_id = NULL WHERE id = 3;
:verify;
INSERT INTO child VALUES (4, 3, 40), (5, NULL, 50);
:verify;
SELECT name, children, total FROM family ORDER BY name;
SELECT id FROM orphans ORDER BY id;

-- A trigger on one base table writing another table of the same view.
CREATE FUNCTION a_mirror() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO b SELECT id + 1000, k, v FROM new_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER a_mirror AFTER INSERT ON a REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION a_mirror();
INSERT INTO a VALUES (50, 2, 5), (51, NULL, 6);
:verify;
DROP TRIGGER a_mirror ON a;

-- The IMMV's NULL-extended columns accept NULLs even when the base column is
-- NOT NULL.
CREATE TABLE nn1 (id int PRIMARY KEY, k int NOT NULL);
CREATE TABLE nn2 (id int PRIMARY KEY, k int NOT NULL);
INSERT INTO nn1 VALUES (1, 1);
SELECT ivmx.create_immv('nn', 'SELECT nn1.id, nn2.id AS id2, nn2.k FROM nn1 LEFT JOIN nn2 USING (k)');
INSERT INTO nn2 VALUES (1, 1);
:verify;
DELETE FROM nn2;
:verify;
SELECT id, id2, k FROM nn ORDER BY id;

-- Deferred IMMVs over outer joins, brought up to date with flush.
SELECT ivmx.create_immv('d_fj', 'SELECT a.id AS aid, b.id AS bid FROM a FULL JOIN b ON a.k = b.k', mode => 'deferred');
SELECT ivmx.create_immv('d_lj_agg', 'SELECT b.k, count(a.id) AS matched, max(a.v) AS hi FROM b LEFT JOIN a ON a.k = b.k GROUP BY b.k', mode => 'deferred');
INSERT INTO b VALUES (200, 2, 2), (201, NULL, 1);
DELETE FROM a WHERE k = 0;
UPDATE a SET k = 2 WHERE id = 1;
SELECT ivmx.flush() >= 0 AS flushed;
:verify;
SELECT ivmx.set_mode('d_fj', 'immediate');
DELETE FROM b WHERE k = 2;
SELECT ivmx.flush() >= 0 AS flushed;
:verify;

-- refresh_immv of an outer-join IMMV.
SELECT ivmx.refresh_immv('lj', true) > 0 AS refreshed;
:verify;

-- A group that appears in a statement whose non-null values cancel each
-- other (its only child leaves as the parent moves to a new group): its sum
-- is NULL, not 0.
CREATE TABLE mp (id int PRIMARY KEY, g int);
CREATE TABLE mc (cid int PRIMARY KEY, pid int REFERENCES mp ON DELETE CASCADE, w int);
INSERT INTO mp VALUES (10, 1), (11, 1);
INSERT INTO mc VALUES (20, 10, 7);
SELECT ivmx.create_immv('moved', 'SELECT mp.g, count(*) AS n, count(mc.cid) AS nc, sum(mc.w) AS s FROM mp LEFT JOIN mc ON mc.pid = mp.id GROUP BY mp.g');
WITH a AS (UPDATE mp SET g = 5 WHERE id = 10 RETURNING 1), b AS (DELETE FROM mc WHERE cid = 20 RETURNING 1) SELECT count(*) FROM a;
:verify;
SELECT g, n, nc, s FROM moved ORDER BY g;

-- Dropping the schema drops its IMMVs with their catalog rows and triggers.
SET client_min_messages = warning;
DROP SCHEMA outer_joins CASCADE;
RESET client_min_messages;
RESET search_path;
SELECT count(*) AS orphaned_catalog_rows FROM ivmx.immv WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = immvrelid);
SELECT count(*) AS triggers_left FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace::regnamespace::text = 'outer_joins';
