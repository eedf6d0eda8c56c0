CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Expressions over aggregates and group keys in the select list
-- (sum(x) + 1, round(avg(x), 2), CASE over count(*), k || ':' || count(*),
-- coalesce(max(d), ...)), with GROUP BY and without, over a join and an
-- outer join, in immediate and deferred mode, and in nested IMMVs. Each
-- aggregate an expression reads is kept in the IMMV (hidden when it is not
-- selected) and the expression is evaluated again whenever its row is
-- written. :check compares every IMMV with its query after each change,
-- with verify_immv and by the text form of its visible columns (EXCEPT ALL
-- both ways), so that 1.00 and 1 differ.
-- setup/aggregate_checks.sql turns the scheduler off (only ivmx.flush
-- applies deferred changes) and defines :check and :flush.
\set schema agg_expr
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE cats (k text PRIMARY KEY, label text NOT NULL);
CREATE TABLE items (id int PRIMARY KEY, k text, x int, amt numeric, d date);
INSERT INTO cats VALUES ('a', 'Alpha'), ('b', 'Beta'), ('c', 'Gamma');
INSERT INTO items VALUES
    (1, 'a', 10, 1.5, '2024-01-01'),
    (2, 'a', 20, 2, '2024-02-01'),
    (3, 'b', NULL, NULL, NULL),
    (4, 'b', 5, 0.25, '2023-12-31'),
    (5, NULL, 7, 3, '2024-03-01');

-- Every kind of expression, immediate and deferred.
\set grouped_query 'SELECT k, sum(x) AS s, sum(x) + 1 AS s1, sum(x) / nullif(count(*), 0) AS per, round(avg(x), 2) AS avg2, coalesce(max(d), ''-infinity'') AS last_d, CASE WHEN count(*) > 2 THEN ''big'' ELSE ''small'' END AS size, k || '':'' || count(*) AS label, max(x) - min(x) AS spread, count(x) * 100 / count(*) AS pct FROM items GROUP BY k'
SELECT ivmx.create_immv('e_grouped', :'grouped_query');
SELECT ivmx.create_immv('d_grouped', :'grouped_query', mode => 'deferred');
-- Without GROUP BY: one row, also when the table is empty.
\set global_query 'SELECT count(*) AS n, sum(x) * 2 AS twice, coalesce(max(x), -1) AS top, round(avg(amt), 3) AS avg_amt, min(d) - 1 AS before_first, sum(x::bigint * 1000000000) AS big FROM items'
SELECT ivmx.create_immv('e_global', :'global_query');
SELECT ivmx.create_immv('d_global', :'global_query', mode => 'deferred');
-- A key that is not selected; an aggregate both selected and in an expression.
SELECT ivmx.create_immv('e_hidden',
    'SELECT upper(k) || ''/'' || count(*) AS tag, sum(x) AS s, -sum(x) AS neg FROM items GROUP BY k');
-- Over a join and an outer join.
\set join_query 'SELECT c.label, count(*) * 10 AS n10, coalesce(sum(i.x), 0) + count(i.id) AS mix, max(i.x) - min(i.x) AS spread, c.label || ''='' || coalesce(sum(i.x), 0) AS line FROM cats c LEFT JOIN items i ON i.k = c.k GROUP BY c.label'
SELECT ivmx.create_immv('e_join', :'join_query');
SELECT ivmx.create_immv('d_join', :'join_query', mode => 'deferred');
SELECT ivmx.create_immv('e_inner',
    'SELECT c.k, max(i.x) / 2 AS half_top, min(i.amt) < 1 AS cheap FROM cats c JOIN items i USING (k) GROUP BY c.k');
-- Nested: expressions over the columns of IMMVs with expressions.
SELECT ivmx.create_immv('n_sizes',
    'SELECT size, count(*) AS groups, sum(s1) * 2 AS total, max(spread) + 0 AS spread FROM e_grouped GROUP BY size');
SELECT ivmx.create_immv('n_sizes_d',
    'SELECT size, coalesce(sum(pct), 0) / count(*) AS avg_pct FROM d_grouped GROUP BY size', mode => 'deferred');

-- The hidden state: one column per distinct aggregate, none for sum(x)
-- twice, and none for an expression already selected.
SELECT attname FROM pg_attribute WHERE attrelid = 'e_hidden'::regclass AND attnum > 0 ORDER BY attnum;
:check;
SELECT k, s, s1, per, avg2, last_d, size, label, spread, pct FROM e_grouped ORDER BY k;
SELECT n, twice, top, avg_amt, before_first, big FROM e_global;
SELECT label, n10, mix, spread, line FROM e_join ORDER BY label;

-- INSERT into existing groups, a new group, the NULL group; large and
-- negative values.
INSERT INTO items VALUES (6, 'a', 30, 4.125, '2024-04-01'), (7, 'c', -2000000000, -1, '2020-01-01'),
    (8, NULL, NULL, NULL, NULL), (9, 'd', 2000000000, 1e10, 'infinity');
:check;
:flush;
:check;
SELECT k, s, s1, per, avg2, last_d, size, label, spread, pct FROM e_grouped ORDER BY k;
SELECT n, twice, top, avg_amt, before_first, big FROM e_global;

-- UPDATE within a group, across groups, of the extreme (max(x) and max(d)
-- lost: recomputed), to and from NULL.
UPDATE items SET x = x + 1 WHERE k = 'a';
:check;
UPDATE items SET k = 'b' WHERE id = 6;
:check;
UPDATE items SET x = NULL, d = NULL WHERE id = 2;
:check;
UPDATE items SET x = 3 WHERE id = 3;
:check;
:flush;
:check;
SELECT k, s, s1, per, avg2, last_d, size, label, spread, pct FROM e_grouped ORDER BY k;

-- DELETE the extremes, a whole group, the last row of the NULL group.
DELETE FROM items WHERE x = (SELECT max(x) FROM items);
:check;
DELETE FROM items WHERE k = 'c';
:check;
DELETE FROM items WHERE k IS NULL;
:check;
:flush;
:check;
SELECT k, s, s1, per, avg2, last_d, size, label, spread, pct FROM e_grouped ORDER BY k;
SELECT label, n10, mix, spread, line FROM e_join ORDER BY label;

-- Changes of the other table of the join.
INSERT INTO cats VALUES ('d', 'Delta'), ('e', 'Epsilon');
UPDATE cats SET label = 'Beta2' WHERE k = 'b';
DELETE FROM cats WHERE k = 'a';
:check;
:flush;
:check;
SELECT label, n10, mix, spread, line FROM e_join ORDER BY label;

-- A transaction that inserts and deletes rows of one group: a deferred batch
-- with rows that cancel each other.
BEGIN;
INSERT INTO items VALUES (20, 'z', 0, 0, '2000-01-01'), (21, 'z', 5, 5, '2001-01-01');
DELETE FROM items WHERE id = 20;
UPDATE items SET x = x * -1 WHERE k = 'b';
COMMIT;
:check;
:flush;
:check;

-- TRUNCATE: groups vanish, the global row stays.
TRUNCATE items;
:check;
:flush;
:check;
SELECT n, twice, top, avg_amt, before_first, big FROM e_global;
SELECT label, n10, mix, spread, line FROM e_join ORDER BY label;
INSERT INTO items VALUES (30, 'b', 1, 0.5, '2024-05-05'), (31, 'b', 2, 0.5, '2024-05-06');
:check;
:flush;
:check;

-- Expressions that cannot be maintained are refused with 0A000 and leave
-- nothing behind.
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE ''rej%'') AS relations'
SELECT ivmx.create_immv('rej', 'SELECT k, sum(x) + random() AS r FROM items GROUP BY k');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT k, count(*) + extract(epoch FROM now()) AS r FROM items GROUP BY k');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT k, corr(x, x) * 2 AS r FROM items GROUP BY k');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT k, var_pop(DISTINCT x) + 1 AS r FROM items GROUP BY k');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT k, sum(x) + (SELECT 1) AS r FROM items GROUP BY k');
:rejected;

DROP SCHEMA agg_expr CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
