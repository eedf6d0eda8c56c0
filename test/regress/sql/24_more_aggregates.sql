CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- bool_and, bool_or and every (kept as counts of non-null and of true
-- inputs), alone, with FILTER and inside expressions, with GROUP BY and
-- without, over an outer join, in immediate and deferred mode, and nested.
-- :check compares every IMMV with its query after each change,
-- with verify_immv and by the text form of its visible columns (EXCEPT ALL
-- both ways), so that 1.00 and 1 differ.
-- setup/aggregate_checks.sql turns the scheduler off (only ivmx.flush
-- applies deferred changes) and defines :check and :flush.
\set schema more_aggs
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE owners (oid int PRIMARY KEY, name text);
CREATE TABLE tasks (id int PRIMARY KEY, owner int, done boolean, urgent boolean, pts int);
INSERT INTO owners VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');
INSERT INTO tasks VALUES (1, 1, true, false, 3), (2, 1, false, NULL, 5), (3, 2, true, true, 1),
    (4, 2, NULL, NULL, NULL), (5, NULL, true, false, 2);

\set grouped_query 'SELECT owner, bool_and(done) AS all_done, bool_or(done) AS any_done, every(urgent) AS all_urgent, bool_or(pts > 2) FILTER (WHERE done) AS big_done, CASE WHEN bool_and(done) THEN ''finished'' WHEN bool_or(done) THEN ''started'' ELSE ''idle'' END AS state, count(*) AS n FROM tasks GROUP BY owner'
SELECT ivmx.create_immv('b_grouped', :'grouped_query');
SELECT ivmx.create_immv('bd_grouped', :'grouped_query', mode => 'deferred');
\set global_query 'SELECT bool_and(done) AS all_done, bool_or(urgent) AS any_urgent, coalesce(every(pts > 0), true) AS all_pos FROM tasks'
SELECT ivmx.create_immv('b_global', :'global_query');
SELECT ivmx.create_immv('bd_global', :'global_query', mode => 'deferred');
\set join_query 'SELECT o.name, bool_and(t.done) AS all_done, bool_or(t.urgent) AS any_urgent FROM owners o LEFT JOIN tasks t ON t.owner = o.oid GROUP BY o.name'
SELECT ivmx.create_immv('b_join', :'join_query');
SELECT ivmx.create_immv('bd_join', :'join_query', mode => 'deferred');
SELECT ivmx.create_immv('b_nested', 'SELECT state, bool_and(all_done) AS all_done, bool_or(any_done) AS any_done FROM b_grouped GROUP BY state');
SELECT ivmx.create_immv('bd_nested', 'SELECT bool_or(all_done) AS some_finished FROM bd_grouped', mode => 'deferred');
:check;
SELECT owner, all_done, any_done, all_urgent, big_done, state, n FROM b_grouped ORDER BY owner;

INSERT INTO tasks VALUES (6, 3, false, true, 7), (7, 1, true, NULL, 0), (8, NULL, NULL, NULL, NULL);
:check;
:flush;
:check;
UPDATE tasks SET done = true WHERE owner = 1;
:check;
UPDATE tasks SET done = NULL WHERE id = 3;
:check;
UPDATE tasks SET owner = 3 WHERE id = 1;
:check;
:flush;
:check;
SELECT owner, all_done, any_done, all_urgent, big_done, state, n FROM b_grouped ORDER BY owner;
DELETE FROM tasks WHERE done IS NOT TRUE;
:check;
DELETE FROM owners WHERE oid = 2;
:check;
:flush;
:check;
SELECT owner, all_done, any_done, all_urgent, big_done, state, n FROM b_grouped ORDER BY owner;
SELECT name, all_done, any_urgent FROM b_join ORDER BY name;
BEGIN;
INSERT INTO tasks VALUES (20, 3, false, false, 1);
DELETE FROM tasks WHERE id = 20;
UPDATE tasks SET done = false WHERE id = 5;
COMMIT;
:check;
:flush;
:check;
TRUNCATE tasks;
:check;
:flush;
:check;
SELECT all_done, any_urgent, all_pos FROM b_global;

-- Aggregates that are not maintained are refused with 0A000 and leave
-- nothing behind.
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE ''rej%'') AS relations'
SELECT ivmx.create_immv('rej', 'SELECT owner, regr_count(pts, pts) AS r FROM tasks GROUP BY owner');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT owner, bool_and(done) OR random() > 0.5 AS r FROM tasks GROUP BY owner');
:rejected;

DROP SCHEMA more_aggs CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
