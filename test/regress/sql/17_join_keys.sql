CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Row identity of join views without groups: the IMMV has a key (and a
-- unique index; its rows are maintained by key) when the output carries the
-- primary key of every table, each key column directly or through a column
-- an inner join condition makes equal to it (a foreign key joined with
-- USING, ON or WHERE). Otherwise rows are matched by value.
-- :verify lists the IMMVs that differ from their query (none: an empty
-- string) and how many were checked; the file works in a schema of its own.

\set verify 'SELECT coalesce(string_agg(immvrelid::text, '','' ORDER BY immvrelid::text) FILTER (WHERE diff <> 0), '''') AS wrong, count(*) AS checked FROM (SELECT immvrelid, ivmx.verify_immv(immvrelid) AS diff FROM ivmx.immv JOIN pg_class ON pg_class.oid = immvrelid WHERE relnamespace = ''join_keys''::regnamespace) AS v'

CREATE SCHEMA join_keys;
SET search_path = join_keys, public;
CREATE TABLE branches (bid int PRIMARY KEY, bbalance int NOT NULL);
CREATE TABLE accounts (aid int PRIMARY KEY, bid int, abalance int NOT NULL);
CREATE TABLE tellers (tid int, region int, bid int, PRIMARY KEY (tid, region));
INSERT INTO branches VALUES (1, 100), (2, 200), (3, 300);
INSERT INTO accounts VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30), (4, NULL, 40), (5, 3, 50);
INSERT INTO tellers VALUES (1, 1, 1), (1, 2, 2), (2, 1, 2);

-- Keyed: branches' key is read from accounts.bid (USING, ON, WHERE).
SELECT ivmx.create_immv('j_using', 'SELECT a.aid, bid, a.abalance, b.bbalance FROM accounts a JOIN branches b USING (bid)');
SELECT ivmx.create_immv('j_on', 'SELECT a.aid, a.bid, b.bbalance FROM accounts a JOIN branches b ON b.bid = a.bid AND b.bbalance > 0');
SELECT ivmx.create_immv('j_where', 'SELECT a.aid, a.bid AS branch, t.tid, t.region FROM accounts a, tellers t WHERE t.bid = a.bid');
-- Three tables, the branch key through two equalities.
SELECT ivmx.create_immv('j_three', 'SELECT a.aid, t.tid, t.region, t.bid FROM accounts a JOIN branches b ON a.bid = b.bid JOIN tellers t ON t.bid = b.bid');
-- Not keyed: the branch key is not in the output, or equal only under OR,
-- or joined with another operator.
SELECT ivmx.create_immv('j_nokey', 'SELECT a.aid, b.bbalance FROM accounts a JOIN branches b ON a.bid = b.bid');
SELECT ivmx.create_immv('j_or', 'SELECT a.aid, a.bid FROM accounts a JOIN branches b ON a.bid = b.bid OR a.bid IS NULL');
SELECT ivmx.create_immv('j_lt', 'SELECT a.aid, a.bid FROM accounts a JOIN branches b ON a.bid <= b.bid');
SELECT c.relname AS immv, pg_get_indexdef(i.indexrelid) AS definition
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
 WHERE c.relnamespace = 'join_keys'::regnamespace AND c.relname LIKE 'j\_%'
 ORDER BY 1;
:verify;

-- Keyed IMMVs leave room on their pages: rows whose key a statement of many
-- rows keeps are updated in place, on their page (see the end of the file).
SELECT c.relname AS immv, c.reloptions
  FROM pg_class c
 WHERE c.relnamespace = 'join_keys'::regnamespace AND c.relname LIKE 'j\_%' AND c.relkind = 'r'
 ORDER BY 1;

-- Changes to every table, keys moving between branches, NULL keys.
UPDATE accounts SET abalance = abalance + 1 WHERE aid IN (1, 3);
:verify;
UPDATE accounts SET bid = 2 WHERE aid = 1;
:verify;
UPDATE accounts SET bid = 3 WHERE bid IS NULL;
UPDATE accounts SET bid = NULL WHERE aid = 5;
:verify;
INSERT INTO accounts VALUES (6, 2, 60), (7, 9, 70);
INSERT INTO branches VALUES (9, 900);
:verify;
UPDATE branches SET bbalance = -bbalance WHERE bid = 2;
:verify;
INSERT INTO tellers VALUES (3, 1, 9), (3, 2, 3);
UPDATE tellers SET bid = 1 WHERE tid = 2;
:verify;
DELETE FROM branches WHERE bid = 1;
DELETE FROM tellers WHERE region = 2;
DELETE FROM accounts WHERE aid = 6;
:verify;
-- One statement changing two tables (branch ids renumbered in both).
WITH moved AS (UPDATE branches SET bid = bid + 10 WHERE bid = 3 RETURNING bid)
UPDATE accounts SET bid = 13 WHERE bid = 3;
:verify;
SELECT aid, bid, abalance, bbalance FROM j_using ORDER BY aid;
SELECT aid, tid, region, bid FROM j_three ORDER BY aid, tid, region;

-- A statement of many rows updates the rows whose key it keeps in place
-- (heap-only tuples where the page has room: no new index entries), deletes
-- and inserts the others; one of few rows deletes and re-inserts.
INSERT INTO branches VALUES (21, 2100), (22, 2200);
CREATE TABLE many (id int PRIMARY KEY, gid int NOT NULL REFERENCES branches, v int);
INSERT INTO many SELECT g, 21 + g % 2, g FROM generate_series(1, 200) g;
SELECT ivmx.create_immv('j_many', 'SELECT m.id, bid, m.v, b.bbalance FROM many m JOIN branches b ON b.bid = m.gid');
BEGIN;
UPDATE many SET v = v + 1 WHERE id <= 100;
-- (In a transaction block the IMMV is maintained when it is first read.)
SELECT count(*) FROM j_many;
SELECT pg_stat_get_xact_tuples_updated('j_many'::regclass) AS updated,
       pg_stat_get_xact_tuples_hot_updated('j_many'::regclass) > 0 AS some_on_their_page;
COMMIT;
UPDATE many SET gid = 22, v = -v WHERE id > 190;         -- keys change
DELETE FROM many WHERE id BETWEEN 101 AND 150;
WITH gone AS (DELETE FROM many WHERE id BETWEEN 151 AND 180 RETURNING id)
INSERT INTO many SELECT id + 1000, 21, id FROM gone;      -- one statement, both sides
UPDATE many SET v = v + 1;                                -- in place, after those
UPDATE many SET v = 0 WHERE id = 1;                      -- few rows
:verify;
SELECT count(*), sum(v) FROM j_many;

-- Dropping the schema drops its IMMVs with their catalog rows and triggers.
SET client_min_messages = warning;
DROP SCHEMA join_keys CASCADE;
RESET client_min_messages;
RESET search_path;
SELECT count(*) AS orphaned_catalog_rows FROM ivmx.immv WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = immvrelid);
