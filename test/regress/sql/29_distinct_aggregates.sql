CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- count(DISTINCT x), sum(DISTINCT x), avg(DISTINCT x): the multiplicity of
-- every value in every group is kept in a companion table
-- (<immv>__ivm_values_<n>), and a group's DISTINCT aggregates change only by
-- the values it gains or loses, never by rescanning it. With GROUP BY and
-- without, FILTER, expressions, HAVING (the dashboard query), joins and
-- outer joins, NULLs, numeric scales, large and negative values, in
-- immediate and deferred mode and nested; what stays refused; two roles.
-- :check compares every IMMV with its query after each change.
-- setup/aggregate_checks.sql turns the scheduler off (only ivmx.flush
-- applies deferred changes) and defines :check and :flush.
\set schema distinct_aggs
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup
-- (verify_immv only: equal numerics of different scales are one DISTINCT
-- value, shown as whichever the scan met first.)
\set check 'SELECT immv, ivmx.verify_immv(immv) AS verify FROM immvs ORDER BY immv::text'

CREATE TABLE customers (id int PRIMARY KEY, region text);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, region text, amount numeric, qty int, big bigint);
INSERT INTO customers VALUES (1, 'north'), (2, 'north'), (3, 'south'), (4, NULL), (5, 'east');
INSERT INTO orders VALUES (1, 1, 'north', 10.5, 1, 1), (2, 1, 'north', 10.50, 2, 9000000000000000000),
    (3, 2, 'north', 7, 2, -9000000000000000000), (4, 3, 'south', 100, 3, 5), (5, NULL, 'south', 3, NULL, NULL),
    (6, 4, NULL, NULL, 1, 5), (7, 3, 'south', 100, 3, 5);

-- The dashboard query: HAVING, count(DISTINCT), an expression over aggregates.
\set q_dash 'SELECT region, count(DISTINCT customer_id) AS customers, sum(amount) / nullif(count(*), 0) AS avg_ticket FROM orders GROUP BY region HAVING sum(amount) > 15'
SELECT ivmx.create_immv('d_dash', :'q_dash');
SELECT ivmx.create_immv('dd_dash', :'q_dash', mode => 'deferred');
\set q_all 'SELECT region, count(DISTINCT qty) AS kinds, sum(DISTINCT qty) AS sq, avg(DISTINCT qty) AS aq, sum(DISTINCT big) AS sb, avg(DISTINCT amount) AS am, count(DISTINCT customer_id) FILTER (WHERE qty > 1) AS busy, count(*) AS n, min(DISTINCT qty) AS lo FROM orders GROUP BY region'
SELECT ivmx.create_immv('d_all', :'q_all');
SELECT ivmx.create_immv('dd_all', :'q_all', mode => 'deferred');
\set q_global 'SELECT count(DISTINCT region) AS regions, count(DISTINCT customer_id) AS customers, sum(DISTINCT qty) AS sq, count(DISTINCT region) * 10 + count(*) AS e FROM orders'
SELECT ivmx.create_immv('d_global', :'q_global');
SELECT ivmx.create_immv('dd_global', :'q_global', mode => 'deferred');
\set q_join 'SELECT c.region, count(DISTINCT o.qty) AS kinds, count(o.id) AS n FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.region'
SELECT ivmx.create_immv('d_join', :'q_join');
SELECT ivmx.create_immv('dd_join', :'q_join', mode => 'deferred');
\set q_hidden 'SELECT count(DISTINCT o.region) AS regions FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.id HAVING count(DISTINCT o.qty) >= 1'
SELECT ivmx.create_immv('d_hidden', :'q_hidden');
SELECT ivmx.create_immv('d_nested', 'SELECT sum(customers) AS customers, count(DISTINCT region) AS regions FROM d_dash');
:check;
SELECT region, customers, avg_ticket FROM d_dash ORDER BY region;
SELECT region, kinds, sq, aq, sb, busy, n, lo FROM d_all ORDER BY region;
SELECT regions, customers, sq, e FROM d_global;
SELECT relname FROM pg_class WHERE relname LIKE 'd\_all\_\_ivm%' ORDER BY relname;

-- A value that comes again, one that is new, NULLs.
INSERT INTO orders VALUES (8, 1, 'north', 10.5, 1, 1), (9, 5, 'east', 40, 4, 0), (10, NULL, NULL, NULL, NULL, NULL);
:check;
:flush;
:check;
SELECT region, customers, avg_ticket FROM d_dash ORDER BY region;
-- One of two rows with a value goes (the value stays), then the other.
DELETE FROM orders WHERE id = 8;
:check;
DELETE FROM orders WHERE id = 1;
:check;
:flush;
:check;
SELECT region, kinds, sq, aq, sb, busy, n, lo FROM d_all ORDER BY region;
-- Values move between groups; a group crosses the HAVING condition.
UPDATE orders SET region = 'east' WHERE id IN (4, 7);
:check;
UPDATE orders SET amount = amount + 20, qty = qty + 1 WHERE region = 'north';
:check;
UPDATE orders SET customer_id = 2 WHERE customer_id = 3;
:check;
:flush;
:check;
SELECT region, customers, avg_ticket FROM d_dash ORDER BY region;
-- The other side of the outer join.
DELETE FROM customers WHERE id = 4;
INSERT INTO customers VALUES (6, 'south');
UPDATE customers SET region = 'south' WHERE id = 1;
:check;
:flush;
:check;
SELECT region, kinds, n FROM d_join ORDER BY region;
-- Changes that cancel inside one transaction; a swap of two values.
BEGIN;
INSERT INTO orders VALUES (20, 9, 'west', 1, 77, 77);
UPDATE orders SET qty = 78 WHERE id = 20;
DELETE FROM orders WHERE id = 20;
UPDATE orders SET qty = CASE qty WHEN 3 THEN 4 WHEN 4 THEN 3 ELSE qty END;
COMMIT;
:check;
:flush;
:check;
TRUNCATE orders;
:check;
:flush;
:check;
SELECT regions, customers, sq, e FROM d_global;
SELECT count(*) AS values_left FROM d_all__ivm_values_1;
INSERT INTO orders SELECT g, g % 13, (ARRAY['north', 'south', 'east', NULL])[g % 4 + 1], (g % 9) * 1.5, g % 6,
    (g % 5) * 1000000000000000 - 2000000000000000
  FROM generate_series(1, 400) g;
:check;
:flush;
:check;
DELETE FROM orders WHERE id % 3 = 0;
UPDATE orders SET qty = qty + 10 WHERE id % 5 = 0;
:check;
:flush;
:check;
-- The values tables hold no value whose count reached zero.
SELECT count(*) AS zero_counts FROM d_all__ivm_values_1 WHERE __ivm_count__ <= 0;

-- Renamed columns follow into the tables kept beside the IMMV: a group key
-- into the groups and values tables, an aggregate into the groups table.
ALTER TABLE d_dash RENAME COLUMN region TO area;
ALTER TABLE d_dash RENAME COLUMN customers TO buyers;
ALTER TABLE dd_dash RENAME COLUMN customers TO buyers;
INSERT INTO orders VALUES (1001, 77, 'north', 500, 1, 1), (1002, 78, NULL, 9, 2, 2);
DELETE FROM orders WHERE id % 7 = 1;
:check;
:flush;
:check;
SELECT area, buyers FROM d_dash ORDER BY area;

-- Refused: DISTINCT in aggregates other than count, sum and avg (those
-- whose result DISTINCT does not change are accepted).
SELECT ivmx.create_immv('d_bad', 'SELECT var_pop(DISTINCT qty) FROM orders');
SELECT count(*) AS leftovers FROM pg_class WHERE relname LIKE 'd\_bad%';

-- Two roles: the owner's IMMV counts the distinct values it may read
-- (row security applies to the values table as to the query); another role
-- reads neither the IMMV nor its values table, and cannot write them.
CREATE ROLE distinct_owner;
CREATE ROLE distinct_other;
GRANT USAGE, CREATE ON SCHEMA distinct_aggs TO distinct_owner, distinct_other;
CREATE TABLE visits (id int PRIMARY KEY, site text, visitor text, owner name);
INSERT INTO visits VALUES (1, 'a', 'x', 'distinct_owner'), (2, 'a', 'y', 'someone'), (3, 'a', 'x', 'distinct_owner'),
    (4, 'b', 'z', 'someone');
ALTER TABLE visits ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_visits ON visits USING (owner = current_user);
GRANT SELECT, INSERT, UPDATE, DELETE, TRIGGER ON visits TO distinct_owner;
SET ROLE distinct_owner;
SELECT ivmx.create_immv('d_rls', 'SELECT site, count(DISTINCT visitor) AS visitors FROM visits GROUP BY site');
SELECT site, visitors FROM d_rls ORDER BY site;
SELECT site, __ivm_value__, __ivm_count__ FROM d_rls__ivm_values_1 ORDER BY site, __ivm_value__;
RESET ROLE;
INSERT INTO visits VALUES (5, 'b', 'w', 'distinct_owner'), (6, 'b', 'v', 'someone');
SET ROLE distinct_owner;
SELECT site, visitors FROM d_rls ORDER BY site;
SELECT ivmx.verify_immv('d_rls');
SET ROLE distinct_other;
SELECT * FROM d_rls__ivm_values_1;
UPDATE d_rls__ivm_values_1 SET __ivm_count__ = 0;
RESET ROLE;
UPDATE d_rls__ivm_values_1 SET __ivm_count__ = 0;
DROP TABLE d_rls;
SELECT count(*) AS companions_left FROM pg_class WHERE relname LIKE 'd\_rls\_\_ivm%';
DROP TABLE visits;
REVOKE ALL ON SCHEMA distinct_aggs FROM distinct_owner, distinct_other;
DROP ROLE distinct_owner;
DROP ROLE distinct_other;

DROP SCHEMA distinct_aggs CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
