CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- HAVING: the IMMV holds the groups that pass the condition; the state of
-- every group is kept in a companion table (<immv>__ivm_groups) so that a
-- group appears, stays or disappears as its aggregates cross the condition,
-- without rescanning the group. Conditions over aggregates in and out of the
-- select list, over hidden group keys, with min/max (recomputed groups),
-- without GROUP BY, over joins and outer joins, NULL group keys, in
-- immediate and deferred mode and nested; then DDL on such IMMVs, two roles,
-- and what stays refused. :check compares every IMMV with its query after
-- each change (verify_immv, and the text form of its visible columns).
-- setup/aggregate_checks.sql turns the scheduler off (only ivmx.flush
-- applies deferred changes) and defines :check and :flush.
\set schema having_views
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE regions (name text PRIMARY KEY, zone text NOT NULL);
CREATE TABLE sales (id int PRIMARY KEY, region text, customer int, amount numeric, qty int);
INSERT INTO regions VALUES ('north', 'A'), ('south', 'A'), ('east', 'B'), ('west', 'C');
INSERT INTO sales VALUES (1, 'north', 1, 100, 1), (2, 'north', 2, 250.50, 3), (3, 'south', 1, 40, 2),
    (4, 'east', 3, 75, 5), (5, 'east', 3, 80, 1), (6, NULL, 4, 10, 1), (7, 'north', 1, 5, 2), (8, NULL, 5, 1, 7);

-- An aggregate only the condition reads; a condition over a group key.
\set q_count 'SELECT region, sum(amount) AS total FROM sales GROUP BY region HAVING count(*) > 2 OR region IS NULL'
SELECT ivmx.create_immv('h_count', :'q_count');
SELECT ivmx.create_immv('hd_count', :'q_count', mode => 'deferred');
-- No group key in the select list (a hidden one), an expression over aggregates.
\set q_ticket 'SELECT round(sum(amount) / nullif(count(*), 0), 2) AS avg_ticket FROM sales GROUP BY region HAVING sum(amount) > 100'
SELECT ivmx.create_immv('h_ticket', :'q_ticket');
SELECT ivmx.create_immv('hd_ticket', :'q_ticket', mode => 'deferred');
-- min/max in the condition: a group that loses its extreme is recomputed.
\set q_extreme 'SELECT region, max(amount) AS top, count(*) AS n FROM sales GROUP BY region HAVING min(qty) > 1 AND max(amount) < 200'
SELECT ivmx.create_immv('h_extreme', :'q_extreme');
SELECT ivmx.create_immv('hd_extreme', :'q_extreme', mode => 'deferred');
-- Without GROUP BY: one row or none.
\set q_global 'SELECT count(*) AS n, sum(amount) AS total FROM sales HAVING sum(amount) > 500'
SELECT ivmx.create_immv('h_global', :'q_global');
SELECT ivmx.create_immv('hd_global', :'q_global', mode => 'deferred');
-- Over a join and an outer join.
\set q_join 'SELECT r.zone, count(s.id) AS n, sum(s.qty) AS qty FROM regions r LEFT JOIN sales s ON s.region = r.name GROUP BY r.zone HAVING count(s.id) >= 2'
SELECT ivmx.create_immv('h_join', :'q_join');
SELECT ivmx.create_immv('hd_join', :'q_join', mode => 'deferred');
\set q_inner 'SELECT r.zone, s.customer, sum(s.amount) AS total FROM regions r JOIN sales s ON s.region = r.name GROUP BY r.zone, s.customer HAVING sum(s.amount) BETWEEN 50 AND 400'
SELECT ivmx.create_immv('h_inner', :'q_inner');
-- Nested: an IMMV over an IMMV with HAVING, and HAVING over an IMMV.
SELECT ivmx.create_immv('h_nested', 'SELECT count(*) AS regions, sum(total) AS total FROM h_count');
SELECT ivmx.create_immv('h_over', 'SELECT zone, sum(n) AS n FROM h_join GROUP BY zone HAVING sum(qty) > 5');
:check;
SELECT region, total FROM h_count ORDER BY region;
SELECT avg_ticket FROM h_ticket ORDER BY avg_ticket;
SELECT region, top, n FROM h_extreme ORDER BY region;
SELECT n, total FROM h_global;
SELECT zone, n, qty FROM h_join ORDER BY zone;
-- The companion holds every group, the IMMV those that pass.
SELECT count(*) AS groups FROM h_count__ivm_groups;
SELECT count(*) AS passing FROM h_count;

-- Groups appear (south reaches 3 rows), values change, the global row
-- appears (sum > 500).
INSERT INTO sales VALUES (9, 'south', 2, 30, 4), (10, 'south', 6, 200, 2), (11, 'west', 7, 12.25, 9);
:check;
:flush;
:check;
SELECT region, total FROM h_count ORDER BY region;
SELECT n, total FROM h_global;
-- Groups cross the condition both ways in one statement.
UPDATE sales SET region = CASE region WHEN 'north' THEN 'west' WHEN 'west' THEN 'north' ELSE region END;
:check;
UPDATE sales SET amount = amount * 3 WHERE region = 'east';
:check;
:flush;
:check;
SELECT region, top, n FROM h_extreme ORDER BY region;
-- A group loses its extreme (max recomputed), one its minimum qty.
DELETE FROM sales WHERE id IN (4, 10);
:check;
UPDATE sales SET qty = 0 WHERE id = 9;
:check;
:flush;
:check;
SELECT region, top, n FROM h_extreme ORDER BY region;
-- The other side of the join changes.
UPDATE regions SET zone = 'B' WHERE name = 'north';
DELETE FROM regions WHERE name = 'south';
:check;
INSERT INTO regions VALUES ('south', 'C');
:check;
:flush;
:check;
SELECT zone, n, qty FROM h_join ORDER BY zone;
-- Large and negative values; NULL amounts.
INSERT INTO sales VALUES (20, 'east', 9, 1e20, 3), (21, 'east', 9, -1e20, 3), (22, 'west', 9, NULL, NULL),
    (23, NULL, 9, -5000, 2);
:check;
:flush;
:check;
-- A transaction block whose changes cancel out, and one that does not.
BEGIN;
INSERT INTO sales VALUES (30, 'north', 1, 999, 9);
DELETE FROM sales WHERE id = 30;
UPDATE sales SET amount = amount + 1 WHERE region = 'south';
COMMIT;
:check;
:flush;
:check;
TRUNCATE sales;
:check;
:flush;
:check;
SELECT count(*) AS groups FROM h_count__ivm_groups;
INSERT INTO sales SELECT g, (ARRAY['north', 'south', 'east', 'west', NULL])[g % 5 + 1], g % 11, (g * 37 % 101) - 20, g % 4
  FROM generate_series(1, 300) g;
:check;
:flush;
:check;
DELETE FROM sales WHERE id % 3 = 0;
:check;
UPDATE sales SET amount = -amount WHERE id % 7 = 0;
:check;
:flush;
:check;

-- DDL: a renamed column follows into the companion; a renamed IMMV keeps
-- its companion; the companion cannot be written or dropped on its own;
-- dropping the IMMV drops it.
ALTER TABLE h_count RENAME COLUMN total TO region_total;
ALTER TABLE h_count RENAME TO h_count_renamed;
UPDATE sales SET amount = amount + 10 WHERE id < 50;
:check;
INSERT INTO h_count__ivm_groups (region) VALUES ('x');
DELETE FROM h_count__ivm_groups;
DROP TABLE h_count__ivm_groups;
SELECT ivmx.refresh_immv('h_count_renamed', true);
:check;
DROP TABLE h_nested;
DROP TABLE h_count_renamed;
SELECT count(*) AS companions_left FROM pg_class WHERE relname = 'h_count__ivm_groups';
SELECT * FROM ivmx.explain_immv('h_global');

-- Refused: HAVING that is not over groups.
SELECT ivmx.create_immv('h_bad', 'SELECT 1 AS one FROM sales HAVING true');
SELECT count(*) AS leftovers FROM pg_class WHERE relname LIKE 'h\_bad%';

-- Two roles: the owner of an IMMV with HAVING over a table with row
-- security sees only its rows, through the IMMV and its companion; another
-- role reads neither without a grant, and cannot write them.
CREATE ROLE having_owner;
CREATE ROLE having_other;
GRANT USAGE, CREATE ON SCHEMA having_views TO having_owner, having_other;
CREATE TABLE orders (id int PRIMARY KEY, seller name, region text, amount int);
INSERT INTO orders VALUES (1, 'having_owner', 'n', 10), (2, 'having_owner', 'n', 20), (3, 'someone', 'n', 1000),
    (4, 'someone', 's', 500), (5, 'having_owner', 's', 1);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_orders ON orders USING (seller = current_user);
GRANT SELECT, INSERT, UPDATE, DELETE, TRIGGER ON orders TO having_owner;
SET ROLE having_owner;
SELECT ivmx.create_immv('h_rls', 'SELECT region, sum(amount) AS total FROM orders GROUP BY region HAVING count(*) >= 1');
SELECT region, total FROM h_rls ORDER BY region;
SELECT region, total FROM h_rls__ivm_groups ORDER BY region;
RESET ROLE;
INSERT INTO orders VALUES (6, 'someone', 'x', 7), (7, 'having_owner', 'x', 8);
UPDATE orders SET amount = amount + 1;
SET ROLE having_owner;
SELECT region, total FROM h_rls ORDER BY region;
SELECT ivmx.verify_immv('h_rls');
SET ROLE having_other;
SELECT * FROM h_rls;
SELECT * FROM h_rls__ivm_groups;
DELETE FROM h_rls__ivm_groups;
SELECT ivmx.refresh_immv('h_rls', true);
RESET ROLE;
DROP TABLE h_rls;
DROP TABLE orders;
REVOKE ALL ON SCHEMA having_views FROM having_owner, having_other;
DROP ROLE having_owner;
DROP ROLE having_other;

DROP SCHEMA having_views CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
