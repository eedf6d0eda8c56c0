CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- A session keeps the maintenance of its immediate IMMVs (the analysis of
-- each defining query, the plans built from it) from one statement to the
-- next. DDL that renames something a defining query names must not break
-- the writers of its base tables in a session that already maintained the
-- IMMV: a function renamed or moved, the schema of a function or of a base
-- table renamed, the other relation of a join renamed or given a column
-- under a new name, a type renamed. Each write is followed by a check that
-- the IMMV equals its query.
CREATE SCHEMA renames;
CREATE SCHEMA renames_other;
SET search_path = renames, public;
\set VERBOSITY terse

-- A function of the query renamed; its schema renamed.
CREATE FUNCTION renames_other.doubled(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
CREATE TABLE scores (id int PRIMARY KEY, k int, v int);
INSERT INTO scores VALUES (1, 1, 1);
SELECT ivmx.create_immv('scores_k', 'SELECT k, sum(renames_other.doubled(v)) AS s FROM scores GROUP BY k');
INSERT INTO scores VALUES (2, 1, 2);
ALTER FUNCTION renames_other.doubled(int) RENAME TO twice;
INSERT INTO scores VALUES (3, 2, 3);
SELECT ivmx.verify_immv('scores_k');
ALTER SCHEMA renames_other RENAME TO renames_other2;
UPDATE scores SET v = v + 1 WHERE id = 1;
SELECT ivmx.verify_immv('scores_k');
SELECT k, s FROM scores_k ORDER BY k;

-- A join: the relation not written renamed, one of its joined columns
-- renamed, its schema renamed; the written one is maintained on.
CREATE TABLE renames_other2.left_side (id int PRIMARY KEY, x int);
CREATE TABLE right_side (id int PRIMARY KEY, x int);
INSERT INTO renames_other2.left_side VALUES (1, 1), (2, 2);
INSERT INTO right_side VALUES (1, 1);
SET client_min_messages = warning;  -- no index on the IMMV
SELECT ivmx.create_immv('joined',
                        'SELECT l.id AS lid, r.id AS rid FROM renames_other2.left_side l JOIN right_side r ON l.x = r.x');
RESET client_min_messages;
INSERT INTO right_side VALUES (2, 1);
ALTER TABLE renames_other2.left_side RENAME COLUMN x TO y;
INSERT INTO right_side VALUES (3, 2);
SELECT ivmx.verify_immv('joined');
ALTER TABLE renames_other2.left_side RENAME TO left_rows;
DELETE FROM right_side WHERE id = 1;
SELECT ivmx.verify_immv('joined');
ALTER SCHEMA renames_other2 RENAME TO renames_other3;
UPDATE right_side SET x = 2 WHERE id = 2;
SELECT ivmx.verify_immv('joined');
SELECT lid, rid FROM joined ORDER BY lid, rid;

-- A type the query names (in a cast) renamed.
CREATE TYPE renames_other3.state AS ENUM ('open', 'closed');
CREATE TABLE tickets (id int PRIMARY KEY, st renames_other3.state, v int);
INSERT INTO tickets VALUES (1, 'open', 1);
SELECT ivmx.create_immv('open_tickets', $$SELECT id, v FROM tickets WHERE st = 'open'::renames_other3.state$$);
INSERT INTO tickets VALUES (2, 'closed', 2);
ALTER TYPE renames_other3.state RENAME TO ticket_state;
INSERT INTO tickets VALUES (3, 'open', 3);
UPDATE tickets SET st = 'closed' WHERE id = 1;
SELECT ivmx.verify_immv('open_tickets');
SELECT id, v FROM open_tickets ORDER BY id;

\set VERBOSITY default
SET client_min_messages = warning;
DROP SCHEMA renames CASCADE;
DROP SCHEMA renames_other3 CASCADE;
RESET client_min_messages;
RESET search_path;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
