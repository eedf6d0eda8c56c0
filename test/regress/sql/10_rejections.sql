CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- View definitions pg_ivmx cannot maintain are rejected when the IMMV is
-- created, with SQLSTATE 0A000 (feature_not_supported) and a message naming
-- the construct; bad arguments get their own SQLSTATEs. A rejected call
-- leaves nothing behind: :rejected shows the SQLSTATE of the last error, and
-- counts relations named rej*, catalog rows and capture triggers (all 0).

CREATE TABLE r (id int PRIMARY KEY, a int, b text, p point, j json, d date);
CREATE TABLE s (id int PRIMARY KEY, a int);
INSERT INTO r VALUES (1, 1, 'x', '(0,0)', '{}', '2000-01-01'), (2, 2, 'y', '(1,1)', '[]', '2999-01-01');
INSERT INTO s VALUES (1, 10);
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE ''rej%'') AS relations, (SELECT count(*) FROM ivmx.immv) AS immvs, (SELECT count(*) FROM pg_trigger WHERE tgfoid = ''ivmx.capture_trigger''::regproc) AS capture_triggers'

-- Lateral subqueries, and subqueries that cannot be rewritten into joins
-- (outer joins, subqueries in FROM, EXISTS, IN / ANY / ALL ANDed into
-- WHERE and WITH are supported).
SELECT ivmx.create_immv('rej', 'SELECT r.a FROM r CROSS JOIN LATERAL (SELECT s.a FROM s WHERE s.id = r.id) l');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE id IN (SELECT id FROM s) OR a > 1');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE a > 1 OR NOT (a > ALL (SELECT a FROM s))');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a, id NOT IN (SELECT id FROM s) AS unmatched FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE CASE WHEN a > 1 THEN id IN (SELECT id FROM s) ELSE true END');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE id IN (SELECT count(*) FROM s)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE id IN (SELECT id FROM s GROUP BY id)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE id NOT IN (SELECT id FROM s LIMIT 1)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE id IN (SELECT DISTINCT ON (a) id FROM s)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a, (SELECT max(a) FROM s) AS m FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE NOT (EXISTS (SELECT 1 FROM s WHERE s.id = r.id) AND a > 1)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT q.a, q.n FROM (SELECT a, count(*) AS n FROM r GROUP BY a) q');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT q.a FROM (SELECT a FROM r UNION ALL SELECT a FROM s) q JOIN s ON s.a = q.a');
:rejected;
SELECT ivmx.create_immv('rej', 'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3) SELECT n FROM c');
:rejected;
-- Clauses.
SELECT ivmx.create_immv('rej', 'SELECT 1 AS one FROM r HAVING true');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT r.a, row_number() OVER (ORDER BY r.a) AS rn FROM r JOIN s USING (id)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r ORDER BY a');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r LIMIT 1');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r OFFSET 1');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r FETCH FIRST 1 ROW ONLY');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a, count(*) FROM r GROUP BY a UNION SELECT a, 1 FROM s');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r UNION ALL SELECT a FROM r ORDER BY a');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r INTERSECT (SELECT a FROM s LIMIT 1)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT * FROM (SELECT a FROM r EXCEPT SELECT a FROM s) d');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT DISTINCT ON (a) a, b FROM r ORDER BY a, b LIMIT 1');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a, b, count(*) FROM r GROUP BY CUBE (a, b, d, a + 1, a + 2, a + 3, a + 4)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT DISTINCT a, count(*) FROM r GROUP BY a');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r FOR UPDATE');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r TABLESAMPLE SYSTEM (50)');
:rejected;
-- Aggregates.
SELECT ivmx.create_immv('rej', 'SELECT count(*) FILTER (WHERE a > random()) FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT sum(a ORDER BY a) FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT var_samp(DISTINCT a) FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT string_agg(DISTINCT b, '','') FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT json_object_agg(b, a) FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT corr(a, a) FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT avg(a ORDER BY b) FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a) FROM r');
:rejected;
CREATE AGGREGATE my_sum(int) (SFUNC = int4pl, STYPE = int);
SELECT ivmx.create_immv('rej', 'SELECT my_sum(a) FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT b, count(*) + random() AS n FROM r GROUP BY b');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT sum(b::text) FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT avg(a::money) FROM r');
:rejected;
-- Functions that are not immutable, and other volatile expressions.
SELECT ivmx.create_immv('rej', 'SELECT a, now() AS t FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE random() < 0.5');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT sum(a * random()) FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE b::date > ''2000-01-01''');   -- text to date is stable
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a, b || d AS bd FROM r');   -- text || date is stable (DateStyle)
:rejected;
CREATE FUNCTION plus_random(int) RETURNS float8 LANGUAGE sql VOLATILE AS 'SELECT $1 + random()';
SELECT ivmx.create_immv('rej', 'SELECT plus_random(a) AS x FROM r');
:rejected;
CREATE SEQUENCE seq;
SELECT ivmx.create_immv('rej', 'SELECT a, nextval(''seq'') AS n FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a, generate_series(1, 2) AS g FROM r');
:rejected;
-- System columns and whole-row references.
SELECT ivmx.create_immv('rej', 'SELECT ctid, a FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r WHERE xmin IS NOT NULL');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT r AS whole FROM r');
:rejected;
-- Output column names reserved for bookkeeping.
SELECT ivmx.create_immv('rej', 'SELECT a AS __ivm_count__ FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a AS "__ivmx" FROM r');
:rejected;
SELECT ivmx.create_immv('rej(__ivm_a)', 'SELECT a FROM r');
:rejected;
CREATE TABLE reserved (id int, __ivm_x int);
SELECT ivmx.create_immv('rej', 'SELECT * FROM reserved');
:rejected;
-- Duplicate output column names; a table that already exists.
SELECT ivmx.create_immv('rej', 'SELECT a, a FROM r');
:rejected;
\set SHOW_CONTEXT never
SELECT ivmx.create_immv('r', 'SELECT a FROM s');
\set SHOW_CONTEXT errors
:rejected;
-- A value with no equality operator where rows are matched by value.
SELECT ivmx.create_immv('rej', 'SELECT a, j FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT p, count(*) FROM r GROUP BY p');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT DISTINCT j FROM r');
:rejected;

-- Relations that cannot be the base.
CREATE VIEW rv AS SELECT id, a FROM r;
SELECT ivmx.create_immv('rej', 'SELECT a FROM rv');
:rejected;
CREATE MATERIALIZED VIEW rmv AS SELECT id, a FROM r;
SELECT ivmx.create_immv('rej', 'SELECT a FROM rmv');
:rejected;
CREATE FOREIGN DATA WRAPPER dummy_fdw;
CREATE SERVER dummy_server FOREIGN DATA WRAPPER dummy_fdw;
CREATE FOREIGN TABLE rft (a int) SERVER dummy_server;
SELECT ivmx.create_immv('rej', 'SELECT a FROM rft');
:rejected;
-- (Partitioned tables, partitions and inheritance parents are bases:
-- 32_partitioned.)
CREATE TABLE rparent (a int);
CREATE TABLE rchild (b int) INHERITS (rparent);
SELECT ivmx.create_immv('rej', 'SELECT a FROM ONLY rparent');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM rchild');
:rejected;
CREATE TEMPORARY TABLE rtemp (a int);
SELECT ivmx.create_immv('rej', 'SELECT a FROM rtemp');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT relname FROM pg_class');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT immvrelid FROM ivmx.immv');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT x FROM (SELECT 1 AS x) s');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT r.a, g FROM r, generate_series(1, r.a) g');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT r.a, g FROM r, generate_series(1, 3, (random() * 2)::int + 1) g');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT * FROM (VALUES (1), (2)) v(x)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT FROM r');
:rejected;

-- Not a single SELECT, or not valid SQL at all.
SELECT ivmx.create_immv('rej', 'SELECT a FROM r; SELECT a FROM s');
:rejected;
SELECT ivmx.create_immv('rej', 'INSERT INTO s VALUES (2, 2)');
:rejected;
SELECT ivmx.create_immv('rej', 'VALUES (1)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELEC a FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT nosuchcolumn FROM r');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT a FROM nosuchtable');
:rejected;
SELECT ivmx.create_immv('rej', '');
:rejected;
SELECT count(*) AS rows_in_s FROM s;   -- the INSERT above did not run

-- Modes and NULL arguments.
SELECT ivmx.create_immv('rej', 'SELECT a FROM r', mode => 'lazy');
:rejected;
SELECT ivmx.create_immv(NULL, 'SELECT a FROM r');
:rejected;
SELECT ivmx.create_immv('rej', NULL);
:rejected;

-- An IMMV may read another IMMV, but not expose its bookkeeping columns.
SELECT ivmx.create_immv('base_immv', 'SELECT a, count(*) AS n FROM r GROUP BY a', mode => 'immediate');
SELECT ivmx.create_immv('rej', 'SELECT a, __ivm_count__ FROM base_immv');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE 'rej%') AS relations,
       (SELECT count(*) FROM ivmx.immv) AS immvs;
-- Nor can a rejected call inside a transaction leave anything once rolled back to a savepoint.
BEGIN;
SAVEPOINT s;
SELECT ivmx.create_immv('rej', 'SELECT a FROM r ORDER BY a');
ROLLBACK TO SAVEPOINT s;
SELECT ivmx.create_immv('rej_ok', 'SELECT DISTINCT a FROM r');
COMMIT;
SELECT immvname FROM ivmx.immvs ORDER BY immvname;
INSERT INTO r VALUES (3, 3, 'z', '(2,2)', 'null', NULL);
SELECT ivmx.verify_immv('base_immv') AS base_immv, ivmx.verify_immv('rej_ok') AS rej_ok;

-- SQL value functions are not immutable either: current_date and friends
-- change between statements, current_user between sessions. Only the
-- SQLSTATE is shown, and each attempt gets a name of its own.
\set rejected_sv 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE ''rej_sv%'') AS relations'
\set VERBOSITY sqlstate
SELECT ivmx.create_immv('rej_sv1', 'SELECT a FROM r WHERE d < current_date');
:rejected_sv;
SELECT ivmx.create_immv('rej_sv2', 'SELECT a, current_timestamp AS ts FROM r');
:rejected_sv;
SELECT ivmx.create_immv('rej_sv3', 'SELECT a, localtimestamp AS ts FROM r');
:rejected_sv;
SELECT ivmx.create_immv('rej_sv4', 'SELECT a, current_user AS who FROM r');
:rejected_sv;
\set VERBOSITY default

DROP TABLE r, s, reserved, rparent, rtemp CASCADE;
DROP AGGREGATE my_sum(int);
DROP SEQUENCE seq;
DROP FUNCTION plus_random(int);
DROP SERVER dummy_server CASCADE;
DROP FOREIGN DATA WRAPPER dummy_fdw;
SELECT count(*) AS immvs FROM ivmx.immv;
