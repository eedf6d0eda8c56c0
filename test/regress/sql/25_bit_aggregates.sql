CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- bit_and and bit_or over smallint, integer, bigint and bit (kept like
-- min/max: inserts fold into the stored value, a delete of a non-null input
-- recomputes its group), alone, with FILTER and inside expressions, with
-- GROUP BY and without, over an outer join, in immediate and deferred mode,
-- and nested. :check compares every IMMV with its query after each change,
-- with verify_immv and by the text form of its visible columns.
-- setup/aggregate_checks.sql turns the scheduler off (only ivmx.flush
-- applies deferred changes) and defines :check and :flush.
\set schema bit_aggs
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE owners (oid int PRIMARY KEY, name text);
CREATE TABLE perms (id int PRIMARY KEY, owner int, s smallint, i int, b bigint, f bit(4), on_ boolean);
INSERT INTO owners VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');
INSERT INTO perms VALUES (1, 1, 7, 12, 255, B'1100', true), (2, 1, 5, 10, 15, B'1010', false),
    (3, 2, 3, 1, NULL, B'0001', true), (4, 2, NULL, NULL, NULL, NULL, NULL), (5, NULL, 1, 6, 8, B'0110', true);

\set grouped_query 'SELECT owner, bit_and(s) AS and_s, bit_or(s) AS or_s, bit_and(i) AS and_i, bit_or(b) AS or_b, bit_and(f) AS and_f, bit_or(f) AS or_f, bit_or(i) FILTER (WHERE on_) AS or_on, coalesce(bit_or(i), 0) + count(*) AS expr, count(*) AS n FROM perms GROUP BY owner'
SELECT ivmx.create_immv('x_grouped', :'grouped_query');
SELECT ivmx.create_immv('xd_grouped', :'grouped_query', mode => 'deferred');
\set global_query 'SELECT bit_and(i) AS and_i, bit_or(b) AS or_b, bit_or(f) FILTER (WHERE on_) AS or_f, coalesce(bit_and(s), -1) * 2 AS e FROM perms'
SELECT ivmx.create_immv('x_global', :'global_query');
SELECT ivmx.create_immv('xd_global', :'global_query', mode => 'deferred');
\set join_query 'SELECT o.name, bit_and(p.i) AS and_i, bit_or(p.f) AS or_f FROM owners o LEFT JOIN perms p ON p.owner = o.oid GROUP BY o.name'
SELECT ivmx.create_immv('x_join', :'join_query');
SELECT ivmx.create_immv('xd_join', :'join_query', mode => 'deferred');
SELECT ivmx.create_immv('x_nested', 'SELECT n, bit_or(and_i) AS or_and_i FROM x_grouped GROUP BY n');
:check;
SELECT owner, and_s, or_s, and_i, or_b, and_f, or_f, or_on, expr, n FROM x_grouped ORDER BY owner;

INSERT INTO perms VALUES (6, 3, 2, 9, 1, B'1111', false), (7, 1, 6, 14, 0, B'0100', true), (8, NULL, NULL, NULL, NULL, NULL, NULL);
:check;
:flush;
:check;
UPDATE perms SET i = i | 1 WHERE owner = 1;
:check;
UPDATE perms SET f = NULL, s = NULL WHERE id = 3;
:check;
UPDATE perms SET owner = 3 WHERE id = 1;
:check;
:flush;
:check;
SELECT owner, and_s, or_s, and_i, or_b, and_f, or_f, or_on, expr, n FROM x_grouped ORDER BY owner;
DELETE FROM perms WHERE on_ IS NOT TRUE;
:check;
DELETE FROM owners WHERE oid = 2;
:check;
:flush;
:check;
SELECT owner, and_s, or_s, and_i, or_b, and_f, or_f, or_on, expr, n FROM x_grouped ORDER BY owner;
SELECT name, and_i, or_f FROM x_join ORDER BY name;
BEGIN;
INSERT INTO perms VALUES (20, 3, 8, 32, 64, B'1000', true);
DELETE FROM perms WHERE id = 20;
UPDATE perms SET b = 1023 WHERE id = 5;
INSERT INTO perms VALUES (21, 4, 8, 32, 64, B'1000', true);
COMMIT;
:check;
:flush;
:check;
SELECT and_i, or_b, or_f, e FROM x_global;
TRUNCATE perms;
:check;
:flush;
:check;
SELECT and_i, or_b, or_f, e FROM x_global;
INSERT INTO perms VALUES (30, 1, 4, 4, 4, B'0010', true);
:check;
:flush;
:check;

DROP SCHEMA bit_aggs CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
