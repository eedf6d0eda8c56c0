CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Bag semantics: a view without DISTINCT or GROUP BY keeps one IMMV row per
-- base row, so equal rows are duplicates that must be added and removed one
-- by one. Base tables here have no primary key, or the view does not select
-- all of it, so rows are matched by value (NULL matching NULL).
-- :verify checks every IMMV of this file against its query.

CREATE TABLE events (kind text, n int, note text);
INSERT INTO events VALUES
    ('a', 1, NULL), ('a', 1, NULL), ('a', 1, NULL),
    ('a', 2, 'x'), ('b', NULL, NULL), ('b', NULL, NULL);
-- A composite primary key of which the view selects only a part.
CREATE TABLE pairs (k1 int, k2 int, v text, PRIMARY KEY (k1, k2));
INSERT INTO pairs VALUES (1, 1, 'p'), (1, 2, 'p'), (2, 1, 'q');

SELECT ivmx.create_immv('ev_all', 'SELECT kind, n, note FROM events');
SELECT ivmx.create_immv('ev_kind', 'SELECT kind FROM events');
SELECT ivmx.create_immv('ev_calc', 'SELECT n * 0 AS zero, note IS NULL AS no_note FROM events WHERE kind = ''a''');
SELECT ivmx.create_immv('pairs_v', 'SELECT k1, v FROM pairs');

\set verify 'SELECT ivmx.verify_immv(''ev_all'') AS ev_all, ivmx.verify_immv(''ev_kind'') AS ev_kind, ivmx.verify_immv(''ev_calc'') AS ev_calc, ivmx.verify_immv(''pairs_v'') AS pairs_v'
\set show_all 'SELECT kind, n, note, count(*) AS copies FROM ev_all GROUP BY kind, n, note ORDER BY kind, n, note'
:verify;
:show_all;
SELECT kind, count(*) AS copies FROM ev_kind GROUP BY kind ORDER BY kind;
SELECT zero, no_note, count(*) AS copies FROM ev_calc GROUP BY zero, no_note ORDER BY zero, no_note;

-- Deleting one row of several equal ones removes exactly one copy.
DELETE FROM events WHERE ctid = (SELECT min(ctid) FROM events WHERE kind = 'a' AND n = 1);
:verify;
:show_all;
-- Both rows whose n and note are NULL.
DELETE FROM events WHERE kind = 'b';
:verify;
:show_all;
-- Inserting duplicates of existing rows, and several equal rows at once.
INSERT INTO events VALUES ('a', 1, NULL), ('b', NULL, NULL), ('b', NULL, NULL), ('b', NULL, NULL);
:verify;
:show_all;
-- Updating one of several equal rows.
UPDATE events SET n = 5 WHERE ctid = (SELECT min(ctid) FROM events WHERE kind = 'b');
:verify;
:show_all;
-- Updating every duplicate so that they become equal to another row.
UPDATE events SET n = 2, note = 'x' WHERE kind = 'a' AND n = 1;
:verify;
:show_all;
SELECT kind, count(*) AS copies FROM ev_kind GROUP BY kind ORDER BY kind;
-- An update that changes a column the view does not select.
UPDATE events SET note = 'y' WHERE kind = 'b';
:verify;
SELECT kind, count(*) AS copies FROM ev_kind GROUP BY kind ORDER BY kind;
-- Rows where n is NULL: the expression n * 0 is NULL too.
UPDATE events SET kind = 'a' WHERE n IS NULL;
:verify;
SELECT zero, no_note, count(*) AS copies FROM ev_calc GROUP BY zero, no_note ORDER BY zero, no_note;
-- Delete 2 of 4 equal rows in one statement.
DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE kind = 'a' AND n = 2 LIMIT 2);
:verify;
:show_all;

-- A key partly selected: equal (k1, v) rows from different keys.
UPDATE pairs SET v = 'q' WHERE k1 = 1 AND k2 = 2;
:verify;
DELETE FROM pairs WHERE k1 = 1 AND k2 = 1;
:verify;
INSERT INTO pairs VALUES (2, 2, 'q'), (2, 3, 'q');
:verify;
SELECT k1, v, count(*) AS copies FROM pairs_v GROUP BY k1, v ORDER BY k1, v;
UPDATE pairs SET k2 = k2 + 10;
:verify;
DELETE FROM pairs WHERE k2 = 13;
:verify;
SELECT k1, v, count(*) AS copies FROM pairs_v GROUP BY k1, v ORDER BY k1, v;

-- Transactions with duplicates.
BEGIN;
INSERT INTO events SELECT * FROM events;
:verify;
SAVEPOINT s;
DELETE FROM events WHERE kind = 'a';
:verify;
ROLLBACK TO SAVEPOINT s;
:verify;
:show_all;
ROLLBACK;
:verify;
:show_all;

COPY events FROM STDIN;
c	7	\N
c	7	\N
\.
:verify;
:show_all;
DELETE FROM events;
:verify;
SELECT count(*) AS ev_all_rows FROM ev_all;
INSERT INTO events VALUES ('z', 0, 'again'), ('z', 0, 'again');
:verify;
TRUNCATE events, pairs;
:verify;
SELECT (SELECT count(*) FROM ev_all) AS ev_all, (SELECT count(*) FROM ev_kind) AS ev_kind,
       (SELECT count(*) FROM ev_calc) AS ev_calc, (SELECT count(*) FROM pairs_v) AS pairs_v;

-- json has no equality operator: a bag view over it must select the primary
-- key, by which its rows are then matched. verify_immv must still work on
-- such an IMMV; the comparison cast to text checks the contents meanwhile.
CREATE TABLE docs (id int PRIMARY KEY, body json);
INSERT INTO docs VALUES (1, '{"a": 1}'), (2, '{"a": 1}');
SELECT ivmx.create_immv('docs_v', 'SELECT id, body FROM docs');
\set verify_docs 'SELECT count(*) AS docs_v_differences FROM ((SELECT id, body::text FROM docs_v EXCEPT ALL SELECT id, body::text FROM docs) UNION ALL (SELECT id, body::text FROM docs EXCEPT ALL SELECT id, body::text FROM docs_v)) AS d'
:verify_docs;
INSERT INTO docs VALUES (3, '{"a": 2}');
:verify_docs;
UPDATE docs SET body = '{"a": 3}' WHERE id = 1;
:verify_docs;
DELETE FROM docs WHERE id = 2;
:verify_docs;
SELECT id, body FROM docs_v ORDER BY id;
SELECT ivmx.verify_immv('docs_v');

DROP TABLE events, pairs, docs CASCADE;
