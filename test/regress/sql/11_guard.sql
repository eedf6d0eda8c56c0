CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Direct writes to an IMMV are rejected, whatever the statement (INSERT,
-- UPDATE, DELETE, TRUNCATE, COPY FROM, MERGE, INSERT ... ON CONFLICT, a
-- writable CTE, a view over the IMMV, a function); reads are not. After each
-- attempt the IMMVs are unchanged and still equal to their queries.

CREATE TABLE base (id int PRIMARY KEY, g int, v int);
INSERT INTO base VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30);
SELECT ivmx.create_immv('g_immv', 'SELECT g, count(*) AS n, sum(v) AS total FROM base GROUP BY g');
SELECT ivmx.create_immv('b_immv', 'SELECT id, v FROM base');
\set verify 'SELECT ivmx.verify_immv(''g_immv'') AS g_immv, ivmx.verify_immv(''b_immv'') AS b_immv, (SELECT count(*) FROM g_immv) AS g_rows, (SELECT count(*) FROM b_immv) AS b_rows'
:verify;

INSERT INTO g_immv (g, n, total) VALUES (9, 1, 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
:verify;
INSERT INTO b_immv VALUES (9, 9);
:verify;
INSERT INTO b_immv SELECT id + 100, v FROM base;
:verify;
INSERT INTO b_immv VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET v = 0;
:verify;
INSERT INTO b_immv VALUES (1, 1) ON CONFLICT DO NOTHING;
:verify;
UPDATE g_immv SET total = 0;
:verify;
UPDATE b_immv SET v = v + 1 WHERE false;      -- even when no row qualifies
:verify;
DELETE FROM g_immv WHERE g = 1;
:verify;
DELETE FROM b_immv;
:verify;
TRUNCATE g_immv;
:verify;
TRUNCATE base, b_immv;                        -- the whole statement fails
:verify;
SELECT count(*) AS base_rows FROM base;
COPY b_immv FROM STDIN;
7	7
\.
:verify;
MERGE INTO b_immv m USING (VALUES (1, 5)) AS s(id, v) ON m.id = s.id
 WHEN MATCHED THEN UPDATE SET v = s.v;
:verify;
WITH w AS (DELETE FROM b_immv RETURNING *) SELECT count(*) FROM w;
:verify;
CREATE VIEW b_view AS SELECT id, v FROM b_immv;
INSERT INTO b_view VALUES (8, 8);
:verify;
UPDATE b_view SET v = 0;
:verify;
-- The SQLSTATE of a rejected write.
DELETE FROM b_immv WHERE id = 1;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- A rejected write inside a transaction; a savepoint recovers from it and
-- base-table changes after it are maintained.
BEGIN;
UPDATE base SET v = v + 1;
SAVEPOINT s;
UPDATE g_immv SET n = 0;
ROLLBACK TO SAVEPOINT s;
INSERT INTO base VALUES (4, 3, 40);
:verify;
COMMIT;
:verify;
SELECT g, n, total FROM g_immv ORDER BY g;
SELECT id, v FROM b_immv ORDER BY id;

-- Reads and locks are allowed.
COPY (SELECT g, n, total FROM g_immv ORDER BY g) TO STDOUT;
COPY (SELECT id, v FROM b_immv ORDER BY id) TO STDOUT;
BEGIN;
SELECT g FROM g_immv WHERE g = 1 FOR UPDATE;
LOCK TABLE b_immv IN SHARE MODE;
COMMIT;

-- Maintenance still writes the IMMVs.
UPDATE base SET g = 2 WHERE id = 1;
:verify;
DELETE FROM base WHERE g = 1;
:verify;
TRUNCATE base;
:verify;

-- session_replication_role = replica (what logical replication's apply
-- sets) disables ordinary triggers, not pg_ivmx's: base-table changes are
-- still maintained, immediate and deferred, and the IMMV still cannot be
-- written. (A scheduler may have applied the deferred changes before the
-- flush: verify_immv tells that they were captured.)
SELECT ivmx.create_immv('d_immv', 'SELECT g, sum(v) AS total FROM base GROUP BY g', mode => 'deferred');
SET session_replication_role = replica;
INSERT INTO base VALUES (4, 2, 40), (5, 3, 50), (6, 3, 60);
UPDATE base SET v = v + 1;
DELETE FROM base WHERE id = 5;
DELETE FROM b_immv;
:verify;
SELECT ivmx.flush('d_immv') >= 0 AS flushed, ivmx.verify_immv('d_immv') AS d_immv;
RESET session_replication_role;
SELECT tgenabled, count(*) FROM pg_trigger
 WHERE tgrelid IN ('base'::regclass, 'g_immv'::regclass, 'b_immv'::regclass, 'd_immv'::regclass)
 GROUP BY tgenabled;
DELETE FROM base WHERE id = 4;
UPDATE base SET v = v - 1;
SELECT ivmx.flush('d_immv') >= 0 AS flushed, ivmx.verify_immv('d_immv') AS d_immv;
:verify;
DROP TABLE d_immv;

-- A write from inside a function: the error's context names the statement
-- and the function once each.
INSERT INTO base VALUES (1, 1, 1);
:verify;
CREATE FUNCTION sneaky() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM g_immv;
END $$;
SELECT sneaky();
:verify;

DROP TABLE base CASCADE;
DROP FUNCTION sneaky();
