CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- UNION [ALL], INTERSECT [ALL], EXCEPT [ALL] of ungrouped operands, and
-- trees of them. A UNION ALL of bags is a bag, a tree of UNIONs a DISTINCT
-- view; every other tree keeps, per distinct row, its count in each operand
-- in a companion table (<immv>__ivm_groups) and the IMMV holds the row as
-- often as the operation outputs it. Operands with joins, outer joins,
-- EXISTS, DISTINCT, functions in FROM and no FROM at all; column types
-- that the operation unifies; NULLs (set operations treat them as equal);
-- in immediate and deferred mode and nested; a UNION ALL in FROM; then DDL,
-- two roles, and what stays refused. :check compares every IMMV with its query after each
-- change (verify_immv, and the text form of its visible columns).
\set schema set_views
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE stock (id int PRIMARY KEY, item text, qty int, shop text);
CREATE TABLE orders (id int PRIMARY KEY, item text, qty int, shop text);
CREATE TABLE recalls (id int PRIMARY KEY, item text, since int);
INSERT INTO stock VALUES (1, 'apple', 1, 'n'), (2, 'apple', 1, 'n'), (3, 'pear', 2, 's'), (4, NULL, 3, 'n'),
    (5, 'fig', NULL, NULL), (6, 'plum', 4, 's'), (7, 'apple', 1, 'n');
INSERT INTO orders VALUES (1, 'apple', 1, 'n'), (2, 'pear', 2, 's'), (3, 'pear', 2, 's'), (4, NULL, 3, 'n'),
    (5, 'kiwi', 5, 'e'), (6, 'fig', NULL, NULL);
INSERT INTO recalls VALUES (1, 'pear', 1), (2, NULL, 2), (3, 'kiwi', 3);

-- The six operations, each in both modes.
\set q_union_all 'SELECT item, qty FROM stock UNION ALL SELECT item, qty FROM orders'
\set q_union 'SELECT item, qty FROM stock UNION SELECT item, qty FROM orders'
\set q_intersect 'SELECT item, qty FROM stock INTERSECT SELECT item, qty FROM orders'
\set q_intersect_all 'SELECT item, qty FROM stock INTERSECT ALL SELECT item, qty FROM orders'
\set q_except 'SELECT item, qty FROM stock EXCEPT SELECT item, qty FROM orders'
\set q_except_all 'SELECT item, qty FROM stock EXCEPT ALL SELECT item, qty FROM orders'
SELECT ivmx.create_immv('s_union_all', :'q_union_all');
SELECT ivmx.create_immv('sd_union_all', :'q_union_all', mode => 'deferred');
SELECT ivmx.create_immv('s_union', :'q_union');
SELECT ivmx.create_immv('sd_union', :'q_union', mode => 'deferred');
SELECT ivmx.create_immv('s_intersect', :'q_intersect');
SELECT ivmx.create_immv('sd_intersect', :'q_intersect', mode => 'deferred');
SELECT ivmx.create_immv('s_intersect_all', :'q_intersect_all');
SELECT ivmx.create_immv('sd_intersect_all', :'q_intersect_all', mode => 'deferred');
SELECT ivmx.create_immv('s_except', :'q_except');
SELECT ivmx.create_immv('sd_except', :'q_except', mode => 'deferred');
SELECT ivmx.create_immv('s_except_all', :'q_except_all');
SELECT ivmx.create_immv('sd_except_all', :'q_except_all', mode => 'deferred');
-- Trees: INTERSECT binds tighter than UNION and EXCEPT; a DISTINCT operand
-- counts once; one table in several operands.
\set q_tree 'SELECT item FROM stock UNION ALL SELECT item FROM orders EXCEPT ALL SELECT item FROM recalls INTERSECT ALL SELECT item FROM orders'
SELECT ivmx.create_immv('s_tree', :'q_tree');
SELECT ivmx.create_immv('sd_tree', :'q_tree', mode => 'deferred');
\set q_distinct_leaf 'SELECT DISTINCT item FROM stock UNION ALL SELECT item FROM orders WHERE qty > 1'
SELECT ivmx.create_immv('s_distinct_leaf', :'q_distinct_leaf');
SELECT ivmx.create_immv('s_self', 'SELECT item FROM stock WHERE qty = 1 INTERSECT ALL SELECT item FROM stock WHERE shop = ''n''');
-- Operands over joins, outer joins and EXISTS; a function in FROM; no FROM.
\set q_joins 'SELECT s.item, r.since FROM stock s LEFT JOIN recalls r ON r.item = s.item EXCEPT SELECT o.item, o.qty FROM orders o WHERE EXISTS (SELECT 1 FROM recalls r WHERE r.item = o.item)'
SELECT ivmx.create_immv('s_joins', :'q_joins');
SELECT ivmx.create_immv('sd_joins', :'q_joins', mode => 'deferred');
\set q_constants 'SELECT g AS qty FROM generate_series(1, 3) g EXCEPT ALL SELECT qty FROM stock UNION ALL SELECT 9'
SELECT ivmx.create_immv('s_constants', :'q_constants');
SELECT ivmx.create_immv('sd_constants', :'q_constants', mode => 'deferred');
-- Types the operation unifies: int, bigint and numeric become numeric.
SELECT ivmx.create_immv('s_types', 'SELECT qty::smallint AS v FROM stock UNION SELECT qty::bigint FROM orders UNION SELECT 1.5');
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 's_types'::regclass AND attnum > 0 ORDER BY attnum;
-- Nested: an aggregate over a set operation, a set operation over IMMVs.
SELECT ivmx.create_immv('s_over', 'SELECT item, count(*) AS n FROM s_except_all GROUP BY item');
SELECT ivmx.create_immv('s_under', 'SELECT item FROM s_over INTERSECT SELECT item FROM s_union');
-- A UNION ALL in FROM, read by a grouped query (a lost max recomputed), a
-- filtered bag, and aggregates without GROUP BY with count(DISTINCT) and
-- HAVING.
\set q_from_groups 'SELECT u.item, count(*) AS n, sum(u.qty) AS total, max(u.qty) AS top FROM (SELECT item, qty FROM stock UNION ALL SELECT item, qty * 10 FROM orders WHERE shop <> ''e'') u GROUP BY u.item'
SELECT ivmx.create_immv('s_from_groups', :'q_from_groups');
SELECT ivmx.create_immv('sd_from_groups', :'q_from_groups', mode => 'deferred');
SELECT ivmx.create_immv('s_from_bag', 'SELECT item, qty FROM (SELECT item, qty FROM stock UNION ALL SELECT item, since FROM recalls) u WHERE qty > 1 OR item IS NULL');
\set q_from_report 'SELECT count(DISTINCT item) AS items, min(qty) AS lo FROM (SELECT item, qty FROM stock UNION ALL SELECT item, qty FROM orders) u HAVING count(*) > 2'
SELECT ivmx.create_immv('s_from_report', :'q_from_report');
SELECT ivmx.create_immv('sd_from_report', :'q_from_report', mode => 'deferred');
-- ROLLUP over a UNION ALL in FROM; a UNION ALL with a function in FROM.
SELECT ivmx.create_immv('s_from_rollup', 'SELECT u.item, u.qty, count(*) AS n, GROUPING(u.item, u.qty) AS gr FROM (SELECT item, qty FROM stock UNION ALL SELECT item, qty FROM orders) u GROUP BY ROLLUP (u.item, u.qty)');
SELECT ivmx.create_immv('sd_from_series', 'SELECT u.item, g FROM (SELECT item, qty FROM stock UNION ALL SELECT item, since FROM recalls) u, generate_series(1, 3) g WHERE g <= u.qty', mode => 'deferred');
-- An operand reading a UNION ALL, another an outer join.
SELECT ivmx.create_immv('s_from_operand', 'SELECT item FROM (SELECT item FROM stock UNION ALL SELECT item FROM recalls) u EXCEPT ALL SELECT o.item FROM orders o LEFT JOIN recalls r ON r.item = o.item WHERE r.id IS NULL');
:check;
SELECT item, qty FROM s_except_all ORDER BY item, qty;
SELECT item, qty FROM s_intersect_all ORDER BY item, qty;
SELECT item FROM s_tree ORDER BY item;
-- The companion holds every distinct row with its count per operand.
SELECT item, qty, __ivm_agg_1__ AS in_stock, __ivm_agg_2__ AS in_orders, __ivm_copies__ AS copies
  FROM s_except_all__ivm_groups ORDER BY item, qty;

-- Rows appear in one operand, then in the other; duplicates come and go.
INSERT INTO stock VALUES (10, 'kiwi', 5, 'e'), (11, 'kiwi', 5, 'e'), (12, 'pear', 2, 's');
:check;
INSERT INTO orders VALUES (10, 'apple', 1, 'n'), (11, 'apple', 1, 'n'), (12, 'plum', 4, 's');
:check;
:flush;
:check;
SELECT item, qty FROM s_except_all ORDER BY item, qty;
DELETE FROM stock WHERE id IN (1, 3);
:check;
UPDATE orders SET qty = qty + 1 WHERE item = 'pear';
:check;
UPDATE stock SET item = NULL WHERE id = 6;
:check;
:flush;
:check;
SELECT item, qty FROM s_intersect_all ORDER BY item, qty;
-- The third table.
INSERT INTO recalls VALUES (4, 'apple', 4), (5, 'apple', 5);
DELETE FROM recalls WHERE item IS NULL;
:check;
UPDATE recalls SET item = 'plum' WHERE id = 1;
:check;
:flush;
:check;
SELECT item FROM s_tree ORDER BY item;
-- Both operands in one statement, and a transaction block whose changes
-- partly cancel out.
WITH moved AS (DELETE FROM stock WHERE item = 'kiwi' RETURNING *)
INSERT INTO orders SELECT id + 100, item, qty, shop FROM moved;
:check;
BEGIN;
INSERT INTO stock VALUES (30, 'apple', 1, 'n');
DELETE FROM stock WHERE id = 30;
UPDATE stock SET qty = 2 WHERE item = 'apple';
INSERT INTO orders VALUES (30, 'apple', 2, 'n');
COMMIT;
:check;
:flush;
:check;
-- Many rows, then deletes and updates.
INSERT INTO stock SELECT g, (ARRAY['apple', 'pear', 'fig', NULL])[g % 4 + 1], g % 3, 'x' FROM generate_series(100, 400) g;
INSERT INTO orders SELECT g, (ARRAY['apple', 'kiwi', 'fig', NULL])[g % 4 + 1], g % 4, 'y' FROM generate_series(200, 500) g;
:check;
:flush;
:check;
DELETE FROM stock WHERE id % 3 = 0;
UPDATE orders SET qty = 0 WHERE id % 5 = 0;
:check;
:flush;
:check;
TRUNCATE orders;
:check;
:flush;
:check;
TRUNCATE stock, recalls;
:check;
:flush;
:check;
SELECT count(*) AS groups_left FROM s_except_all__ivm_groups;

-- DDL: a renamed column follows into the companion; the companion cannot be
-- written on its own; dropping the IMMV drops it.
INSERT INTO stock VALUES (1, 'apple', 1, 'n'), (2, 'apple', 1, 'n');
INSERT INTO orders VALUES (1, 'apple', 1, 'n');
ALTER TABLE s_except_all RENAME COLUMN item TO product;
UPDATE stock SET qty = 1;
:check;
SELECT product, qty FROM s_except_all ORDER BY product, qty;
DELETE FROM s_except_all__ivm_groups;
SELECT ivmx.refresh_immv('s_except_all', true);
:check;
DROP TABLE s_under;
DROP TABLE s_over;
DROP TABLE s_except_all;
SELECT count(*) AS companions_left FROM pg_class WHERE relname = 's_except_all__ivm_groups';

-- Refused, leaving nothing behind.
SELECT ivmx.create_immv('s_bad1', 'SELECT item, count(*) FROM stock GROUP BY item UNION SELECT item, 1 FROM orders');
SELECT ivmx.create_immv('s_bad2', 'SELECT item FROM stock UNION SELECT item FROM orders ORDER BY 1');
SELECT ivmx.create_immv('s_bad3', 'SELECT item FROM stock UNION (SELECT item FROM orders LIMIT 1)');
SELECT ivmx.create_immv('s_bad4', 'SELECT * FROM (SELECT item FROM stock UNION SELECT item FROM orders) u');
SELECT ivmx.create_immv('s_bad7', 'SELECT u.item FROM (SELECT item FROM stock UNION ALL SELECT item FROM orders) u JOIN recalls r ON r.item = u.item');
SELECT ivmx.create_immv('s_bad8', 'SELECT item FROM (SELECT DISTINCT item FROM stock UNION ALL SELECT item FROM orders) u');
SELECT ivmx.create_immv('s_bad5', 'SELECT item FROM stock UNION SELECT row_number() OVER ()::text FROM orders');
CREATE TABLE docs (id int PRIMARY KEY, body json);
SELECT ivmx.create_immv('s_bad6', 'SELECT body FROM docs UNION ALL SELECT body FROM docs');
SELECT count(*) AS leftovers FROM pg_class WHERE relname LIKE 's\_bad%';

-- Two roles: the owner of a set operation over a table with row security
-- sees only its rows, through the IMMV and its companion; another role
-- reads neither without a grant, and cannot write them.
CREATE ROLE set_owner;
CREATE ROLE set_other;
GRANT USAGE, CREATE ON SCHEMA set_views TO set_owner, set_other;
CREATE TABLE bids (id int PRIMARY KEY, seller name, item text);
INSERT INTO bids VALUES (1, 'set_owner', 'apple'), (2, 'set_owner', 'apple'), (3, 'someone', 'pear'),
    (4, 'someone', 'apple'), (5, 'set_owner', 'fig');
ALTER TABLE bids ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_bids ON bids USING (seller = current_user);
GRANT SELECT, INSERT, UPDATE, DELETE, TRIGGER ON bids TO set_owner;
GRANT SELECT, TRIGGER ON stock TO set_owner;
SET ROLE set_owner;
SELECT ivmx.create_immv('s_rls', 'SELECT item FROM bids EXCEPT ALL SELECT item FROM stock');
SELECT item FROM s_rls ORDER BY item;
RESET ROLE;
INSERT INTO bids VALUES (6, 'someone', 'kiwi'), (7, 'set_owner', 'kiwi'), (8, 'set_owner', 'apple');
DELETE FROM stock WHERE id = 2;
SET ROLE set_owner;
SELECT item FROM s_rls ORDER BY item;
SELECT ivmx.verify_immv('s_rls');
SET ROLE set_other;
SELECT * FROM s_rls;
SELECT * FROM s_rls__ivm_groups;
DELETE FROM s_rls__ivm_groups;
INSERT INTO s_rls VALUES ('pear');
SELECT ivmx.refresh_immv('s_rls', true);
RESET ROLE;
DROP TABLE s_rls;
DROP TABLE bids;
REVOKE ALL ON SCHEMA set_views FROM set_owner, set_other;
REVOKE ALL ON stock FROM set_owner;
DROP ROLE set_owner;
DROP ROLE set_other;

DROP SCHEMA set_views CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
