CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Subqueries in FROM (nested, joined, on the nullable side of an outer
-- join), EXISTS and NOT EXISTS conditions ANDed into WHERE (correlated to one
-- or several outer tables), and non-recursive WITH queries (also referenced
-- several times). They are rewritten into joins of the base tables, so a
-- change to any table inside them maintains the IMMV.
-- :verify lists the IMMVs that differ from their query (none: an empty
-- string) and how many were checked; the file works in a schema of its own.

\set verify 'SELECT coalesce(string_agg(immvrelid::text, '','' ORDER BY immvrelid::text) FILTER (WHERE diff <> 0), '''') AS wrong, count(*) AS checked FROM (SELECT immvrelid, ivmx.verify_immv(immvrelid) AS diff FROM ivmx.immv JOIN pg_class ON pg_class.oid = immvrelid WHERE relnamespace = ''subqueries''::regnamespace) AS v'

CREATE SCHEMA subqueries;
SET search_path = subqueries, public;

CREATE TABLE orders (id int PRIMARY KEY, customer int, amount int, status text);
CREATE TABLE customers (id int PRIMARY KEY, region text, vip boolean);
CREATE TABLE returns (order_id int, reason text);
INSERT INTO customers VALUES (1, 'north', true), (2, 'south', false), (3, 'north', false), (4, NULL, true);
INSERT INTO orders VALUES (1, 1, 100, 'open'), (2, 1, 50, 'paid'), (3, 2, 70, 'paid'), (4, 3, 20, 'open'), (5, NULL, 5, 'open');
INSERT INTO returns VALUES (2, 'broken'), (2, 'late'), (4, NULL);

-- Subqueries in FROM.
SELECT ivmx.create_immv('sub_simple', 'SELECT o.id, o.amount FROM (SELECT id, amount FROM orders WHERE status = ''paid'') AS o');
SELECT ivmx.create_immv('sub_join', 'SELECT c.region, o.amount * 2 AS doubled FROM (SELECT customer, amount FROM orders) AS o JOIN customers c ON c.id = o.customer');
SELECT ivmx.create_immv('sub_nested', 'SELECT x.id, x.region FROM (SELECT y.id, y.region FROM (SELECT o.id, c.region FROM orders o JOIN customers c ON c.id = o.customer WHERE o.amount > 10) AS y WHERE y.region IS NOT NULL) AS x');
SELECT ivmx.create_immv('sub_agg', 'SELECT s.region, count(*) AS n, sum(s.amount) AS total FROM (SELECT c.region, o.amount FROM orders o JOIN customers c ON c.id = o.customer) AS s GROUP BY s.region');
SELECT ivmx.create_immv('sub_nullable', 'SELECT c.id, p.amount FROM customers c LEFT JOIN (SELECT customer, amount FROM orders WHERE status = ''paid'') AS p ON p.customer = c.id');
SELECT ivmx.create_immv('sub_distinct', 'SELECT DISTINCT s.status FROM (SELECT status FROM orders WHERE amount >= 20) AS s');
-- EXISTS and NOT EXISTS.
SELECT ivmx.create_immv('ex_returned', 'SELECT o.id, o.amount FROM orders o WHERE EXISTS (SELECT 1 FROM returns r WHERE r.order_id = o.id)');
SELECT ivmx.create_immv('ex_not_returned', 'SELECT o.id FROM orders o WHERE o.status = ''paid'' AND NOT EXISTS (SELECT 1 FROM returns r WHERE r.order_id = o.id)');
SELECT ivmx.create_immv('ex_both', 'SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id AND o.status = ''open'') AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id AND o.status = ''paid'')');
SELECT ivmx.create_immv('ex_two_outer', 'SELECT o.id, c.region FROM orders o JOIN customers c ON c.id = o.customer WHERE EXISTS (SELECT 1 FROM returns r WHERE r.order_id = o.id AND (c.vip OR r.reason IS NULL))');
SELECT ivmx.create_immv('ex_nested', 'SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id AND NOT EXISTS (SELECT 1 FROM returns r WHERE r.order_id = o.id))');
SELECT ivmx.create_immv('ex_join_inside', 'SELECT c.region FROM customers c WHERE EXISTS (SELECT 1 FROM orders o JOIN returns r ON r.order_id = o.id WHERE o.customer = c.id)');
SELECT ivmx.create_immv('ex_agg', 'SELECT o.customer, count(*) AS n, max(o.amount) AS top FROM orders o WHERE NOT EXISTS (SELECT 1 FROM returns r WHERE r.order_id = o.id) GROUP BY o.customer');
-- WITH queries.
SELECT ivmx.create_immv('cte_once', 'WITH paid AS (SELECT id, customer, amount FROM orders WHERE status = ''paid'') SELECT c.region, paid.amount FROM paid JOIN customers c ON c.id = paid.customer');
SELECT ivmx.create_immv('cte_twice', 'WITH o AS (SELECT id, customer, amount FROM orders) SELECT a.id, b.id AS other FROM o a JOIN o b ON a.customer = b.customer AND a.id < b.id');
SELECT ivmx.create_immv('cte_chain', 'WITH big AS (SELECT id, customer FROM orders WHERE amount > 30), vip AS (SELECT id FROM customers WHERE vip) SELECT big.id FROM big JOIN vip ON vip.id = big.customer');
SELECT ivmx.create_immv('cte_exists', 'WITH r AS (SELECT order_id FROM returns WHERE reason IS NOT NULL) SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM r WHERE r.order_id = o.id)');
:verify;

SELECT id, amount FROM ex_returned ORDER BY id;
SELECT id FROM ex_not_returned ORDER BY id;
SELECT id FROM ex_both ORDER BY id;

-- Changes inside the subqueries.
INSERT INTO returns VALUES (3, 'wrong');
:verify;
SELECT id FROM ex_not_returned ORDER BY id;
-- A second reason for a returned order, then deleting one of two.
INSERT INTO returns VALUES (3, NULL);
:verify;
DELETE FROM returns WHERE order_id = 2 AND reason = 'late';
:verify;
DELETE FROM returns WHERE order_id = 2;
:verify;
SELECT id, amount FROM ex_returned ORDER BY id;
SELECT id FROM ex_not_returned ORDER BY id;
-- Changes to the outer tables.
UPDATE orders SET status = 'paid' WHERE id = 4;
:verify;
SELECT id FROM ex_both ORDER BY id;
UPDATE orders SET customer = 4 WHERE id = 5;
:verify;
UPDATE customers SET vip = NOT vip;
:verify;
INSERT INTO orders VALUES (6, 2, 300, 'open'), (7, 3, 40, 'open'), (8, NULL, 1, NULL);
:verify;
DELETE FROM orders WHERE id IN (1, 3);
:verify;
UPDATE returns SET order_id = order_id + 1;
:verify;
UPDATE customers SET region = NULL WHERE id = 1;
:verify;
SELECT region, n, total FROM sub_agg ORDER BY region;
SELECT customer, n, top FROM ex_agg ORDER BY customer;
-- One statement changing the outer table and the one in EXISTS.
WITH moved AS (UPDATE orders SET status = 'open' WHERE status = 'paid' RETURNING id)
INSERT INTO returns SELECT id, 'moved' FROM moved;
:verify;
WITH gone AS (DELETE FROM returns RETURNING order_id)
DELETE FROM orders WHERE id IN (SELECT order_id FROM gone);
:verify;
TRUNCATE returns;
:verify;
INSERT INTO returns SELECT id, NULL FROM orders;
:verify;
SELECT id, amount FROM ex_returned ORDER BY id;
SELECT id FROM ex_nested ORDER BY id;

-- Deferred twins, brought up to date with flush.
SELECT ivmx.create_immv('d_ex_both', 'SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id AND o.status = ''open'') AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id AND o.status = ''paid'')', mode => 'deferred');
SELECT ivmx.create_immv('d_cte_twice', 'WITH o AS (SELECT id, customer, amount FROM orders) SELECT a.id, b.id AS other FROM o a JOIN o b ON a.customer = b.customer AND a.id < b.id', mode => 'deferred');
INSERT INTO orders VALUES (10, 2, 1, 'paid'), (11, 2, 2, 'open'), (12, 4, 3, 'open');
DELETE FROM returns WHERE order_id = 6;
UPDATE orders SET status = 'paid' WHERE id = 11;
SELECT ivmx.flush() >= 0 AS flushed;
:verify;

-- What cannot be rewritten is rejected, naming the construct, and leaves
-- nothing behind.
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE ''rej%'') AS relations'
SELECT ivmx.create_immv('rej', 'SELECT o.id, o.id IN (SELECT order_id FROM returns) AS returned FROM orders o');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM returns r WHERE r.order_id = o.id) OR o.amount > 10');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT s.customer, s.n FROM (SELECT customer, count(*) AS n FROM orders GROUP BY customer) AS s');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT s.status FROM (SELECT DISTINCT status FROM orders) AS s');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT s.id FROM (SELECT id FROM orders LIMIT 2) AS s');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM returns r GROUP BY r.order_id HAVING r.order_id = o.id)');
:rejected;
SELECT ivmx.create_immv('rej', 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n');
:rejected;
SELECT ivmx.create_immv('rej', 'WITH gone AS (DELETE FROM returns RETURNING order_id) SELECT order_id FROM gone');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT c.id, p.n FROM customers c LEFT JOIN (SELECT customer, 1 AS n FROM orders) AS p ON p.customer = c.id');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id, (SELECT max(amount) FROM orders) AS top FROM orders o');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o CROSS JOIN LATERAL (SELECT r.reason FROM returns r WHERE r.order_id = o.id) AS l');
:rejected;
-- Only an EXISTS subquery's own WHERE clause may read the outer query's
-- columns: maintenance evaluates the conditions inside it where the outer
-- relations are not in scope.
SELECT ivmx.create_immv('rej', 'SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id AND NOT EXISTS (SELECT 1 FROM returns r WHERE r.order_id = o.id AND c.vip))');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o JOIN returns r ON r.order_id = o.id AND c.vip WHERE o.customer = c.id)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM (SELECT customer FROM orders WHERE amount > c.id) AS o WHERE o.customer = c.id)');
:rejected;
:verify;

-- Dropping the schema drops its IMMVs with their catalog rows and triggers.
SET client_min_messages = warning;
DROP SCHEMA subqueries CASCADE;
RESET client_min_messages;
RESET search_path;
SELECT count(*) AS orphaned_catalog_rows FROM ivmx.immv WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = immvrelid);
SELECT count(*) AS triggers_left FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace::regnamespace::text = 'subqueries';
