CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- A session keeps the analysis of an IMMV's defining query from one
-- refresh to the next (a scheduler refreshes the same IMMVs round after
-- round). Whatever the analysis read may change in between: each case
-- below flushes a deferred IMMV once (this session then holds its
-- analysis), changes something with DDL, writes, and flushes again in the
-- same session, which must see the change: the schema of a base table or
-- of the IMMV renamed, a function or a type the query names renamed or
-- moved, the IMMV renamed, a key added to a base table, the IMMV given to
-- another owner (whose row-level security policies then apply), modes
-- switched, the IMMV dropped and created again under its name.
-- The scheduler is switched off for this file: only ivmx.flush applies.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
CREATE SCHEMA reanalysis;
CREATE SCHEMA reanalysis_base;
CREATE SCHEMA reanalysis_views;
SET search_path = reanalysis, public;
\set VERBOSITY terse

-- The schemas of the base table and of the IMMV renamed: the refresh's SQL
-- names both, qualified.
CREATE TABLE reanalysis_base.items (id int PRIMARY KEY, k int, v int);
INSERT INTO reanalysis_base.items VALUES (1, 1, 1), (2, 2, 2);
SELECT ivmx.create_immv('reanalysis_views.items_k',
                        'SELECT k, count(*) AS n, sum(v) AS s FROM reanalysis_base.items GROUP BY k',
                        mode => 'deferred');
INSERT INTO reanalysis_base.items VALUES (3, 1, 3);
SELECT ivmx.flush('reanalysis_views.items_k');
ALTER SCHEMA reanalysis_base RENAME TO reanalysis_base2;
INSERT INTO reanalysis_base2.items VALUES (4, 2, 4);
UPDATE reanalysis_base2.items SET v = v * 10 WHERE id = 1;
SELECT ivmx.flush('reanalysis_views.items_k');
SELECT ivmx.verify_immv('reanalysis_views.items_k');
ALTER SCHEMA reanalysis_views RENAME TO reanalysis_views2;
DELETE FROM reanalysis_base2.items WHERE id = 2;
SELECT ivmx.flush('reanalysis_views2.items_k');
SELECT ivmx.verify_immv('reanalysis_views2.items_k');
-- The IMMV renamed, and one of its columns.
ALTER TABLE reanalysis_views2.items_k RENAME TO items_by_k;
ALTER TABLE reanalysis_views2.items_by_k RENAME COLUMN s TO total;
INSERT INTO reanalysis_base2.items VALUES (5, 3, 5);
SELECT ivmx.flush('reanalysis_views2.items_by_k');
SELECT ivmx.verify_immv('reanalysis_views2.items_by_k');
SELECT k, n, total FROM reanalysis_views2.items_by_k ORDER BY k;

-- A function of the query renamed, then moved to another schema: the
-- refresh's SQL calls it by its qualified name.
CREATE FUNCTION reanalysis_base2.doubled(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
CREATE TABLE scores (id int PRIMARY KEY, k int, v int);
INSERT INTO scores VALUES (1, 1, 1), (2, 1, 2);
SELECT ivmx.create_immv('scores_k', 'SELECT k, sum(reanalysis_base2.doubled(v)) AS s FROM scores GROUP BY k',
                        mode => 'deferred');
INSERT INTO scores VALUES (3, 2, 3);
SELECT ivmx.flush('scores_k');
ALTER FUNCTION reanalysis_base2.doubled(int) RENAME TO twice;
INSERT INTO scores VALUES (4, 2, 4);
SELECT ivmx.flush('scores_k');
SELECT ivmx.verify_immv('scores_k');
ALTER FUNCTION reanalysis_base2.twice(int) SET SCHEMA reanalysis;
UPDATE scores SET v = v + 1 WHERE k = 1;
SELECT ivmx.flush('scores_k');
SELECT ivmx.verify_immv('scores_k');
SELECT k, s FROM scores_k ORDER BY k;

-- A type the query names (in a cast) renamed.
CREATE TYPE reanalysis_base2.state AS ENUM ('open', 'closed');
CREATE TABLE tickets (id int PRIMARY KEY, st reanalysis_base2.state, v int);
INSERT INTO tickets VALUES (1, 'open', 1), (2, 'closed', 2);
SELECT ivmx.create_immv('open_tickets',
                        $$SELECT id, v FROM tickets WHERE st = 'open'::reanalysis_base2.state$$,
                        mode => 'deferred');
INSERT INTO tickets VALUES (3, 'open', 3);
SELECT ivmx.flush('open_tickets');
ALTER TYPE reanalysis_base2.state RENAME TO ticket_state;
INSERT INTO tickets VALUES (4, 'open', 4);
UPDATE tickets SET st = 'closed' WHERE id = 1;
SELECT ivmx.flush('open_tickets');
SELECT ivmx.verify_immv('open_tickets');
SELECT id, v FROM open_tickets ORDER BY id;

-- A keyless table gains a primary key: the IMMV's rows are then applied
-- by that key.
CREATE TABLE keyed (id int NOT NULL, v int);
INSERT INTO keyed VALUES (1, 10), (2, 20);
SET client_min_messages = warning;  -- no index on the IMMV
SELECT ivmx.create_immv('keyed_rows', 'SELECT id, v FROM keyed', mode => 'deferred');
RESET client_min_messages;
UPDATE keyed SET v = 11 WHERE id = 1;
SELECT ivmx.flush('keyed_rows');
ALTER TABLE keyed ADD PRIMARY KEY (id);
INSERT INTO keyed VALUES (3, 30);
UPDATE keyed SET v = v + 1;
DELETE FROM keyed WHERE id = 2;
SELECT ivmx.flush('keyed_rows');
SELECT ivmx.verify_immv('keyed_rows');
SELECT id, v FROM keyed_rows ORDER BY id;

-- A base table read as whole rows (an outer join) gains a column and
-- retypes one the IMMV does not name.
CREATE TABLE parents (id int PRIMARY KEY, name text);
CREATE TABLE children (id int PRIMARY KEY, parent int, note int);
INSERT INTO parents VALUES (1, 'p1'), (2, 'p2');
INSERT INTO children VALUES (1, 1, 0), (2, 1, 0);
SELECT ivmx.create_immv('family',
                        'SELECT p.id AS pid, c.id AS cid FROM parents p LEFT JOIN children c ON c.parent = p.id',
                        mode => 'deferred');
INSERT INTO children VALUES (3, 2, 0);
SELECT ivmx.flush('family');
ALTER TABLE children ADD COLUMN extra int DEFAULT 1;
ALTER TABLE children ALTER COLUMN note TYPE text;
INSERT INTO children VALUES (4, 2, 'x', 2);
DELETE FROM children WHERE id = 1;
UPDATE children SET parent = 2 WHERE id = 2;
SELECT ivmx.flush('family');
SELECT ivmx.verify_immv('family');
SELECT pid, cid FROM family ORDER BY pid, cid;

-- The IMMV given to another owner: its refreshes run as the new owner,
-- through the new owner's row-level security policy.
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_reanalysis_a;
DROP ROLE IF EXISTS regress_ivmx_reanalysis_b;
CREATE ROLE regress_ivmx_reanalysis_a;
CREATE ROLE regress_ivmx_reanalysis_b;
GRANT USAGE, CREATE ON SCHEMA reanalysis TO regress_ivmx_reanalysis_a, regress_ivmx_reanalysis_b;
CREATE TABLE notes (id int PRIMARY KEY, author name NOT NULL, words int);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON notes FOR SELECT USING (author = current_user);
GRANT SELECT, TRIGGER ON notes TO regress_ivmx_reanalysis_a, regress_ivmx_reanalysis_b;
SET ROLE regress_ivmx_reanalysis_a;
SELECT ivmx.create_immv('reanalysis.authors',
                        'SELECT author, count(*) AS n, sum(words) AS words FROM reanalysis.notes GROUP BY author',
                        mode => 'deferred');
RESET ROLE;
SELECT ivmx.flush('authors');
ALTER TABLE authors OWNER TO regress_ivmx_reanalysis_b;
INSERT INTO notes VALUES (2, 'regress_ivmx_reanalysis_a', 20), (3, 'regress_ivmx_reanalysis_b', 30);
SELECT ivmx.flush('authors');
SELECT ivmx.verify_immv('authors');
SELECT author, n, words FROM authors ORDER BY author;
-- The new owner loses the right to read the table: refreshes stop.
REVOKE SELECT ON notes FROM regress_ivmx_reanalysis_b;
INSERT INTO notes VALUES (4, 'regress_ivmx_reanalysis_b', 40);
SELECT ivmx.flush('authors');
GRANT SELECT ON notes TO regress_ivmx_reanalysis_b;
SELECT ivmx.flush('authors');
SELECT ivmx.verify_immv('authors');
SELECT author, n, words FROM authors ORDER BY author;

-- Modes switched back and forth between two refreshes.
CREATE TABLE moods (id int PRIMARY KEY, k int, v int);
INSERT INTO moods VALUES (1, 1, 1);
SELECT ivmx.create_immv('moods_k', 'SELECT k, sum(v) AS s FROM moods GROUP BY k', mode => 'deferred');
INSERT INTO moods VALUES (2, 1, 2);
SELECT ivmx.flush('moods_k');
INSERT INTO moods VALUES (3, 2, 3);
SELECT ivmx.set_mode('moods_k', 'immediate');
UPDATE moods SET v = v + 10 WHERE id = 1;
SELECT ivmx.verify_immv('moods_k');
SELECT ivmx.set_mode('moods_k', 'deferred');
DELETE FROM moods WHERE id = 2;
SELECT ivmx.flush('moods_k');
SELECT ivmx.verify_immv('moods_k');
SELECT k, s FROM moods_k ORDER BY k;

-- The IMMV dropped and created again under the same name, with another
-- query.
SELECT ivmx.flush('moods_k');
DROP TABLE moods_k;
SELECT ivmx.create_immv('moods_k', 'SELECT k, count(*) AS n FROM moods WHERE v > 2 GROUP BY k',
                        mode => 'deferred');
INSERT INTO moods VALUES (4, 2, 40);
SELECT ivmx.flush('moods_k');
SELECT ivmx.verify_immv('moods_k');
SELECT k, n FROM moods_k ORDER BY k;

\set VERBOSITY default
SET client_min_messages = warning;
DROP SCHEMA reanalysis CASCADE;
DROP SCHEMA reanalysis_base2 CASCADE;
DROP SCHEMA reanalysis_views2 CASCADE;
RESET client_min_messages;
RESET search_path;
DROP ROLE regress_ivmx_reanalysis_a;
DROP ROLE regress_ivmx_reanalysis_b;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
SELECT count(*) AS orphan_logs FROM ivmx.delta_log l
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = l.relid);

ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
