CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- IN, = ANY, NOT IN, <> ALL and any other operator with ANY or ALL over a
-- subquery, ANDed into WHERE (NOT IN and NOT (... ALL ...) too), correlated
-- or not, with single columns and rows: they are rewritten into EXISTS /
-- NOT EXISTS and maintained as semi- / anti-joins. NOT IN and ALL follow
-- SQL's three-valued logic: a NULL on either side, or an empty subquery,
-- decides as the query does. Every IMMV has an immediate and a deferred
-- twin (d_...); :verify flushes the deferred ones, then lists the IMMVs
-- that differ from their query (none: an empty string) and how many were
-- checked (verify_immv compares with the defining query as written, so
-- with PostgreSQL's own evaluation of IN / NOT IN / ALL).
-- The scheduler is off: deferred IMMVs are brought forward with flush.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();

\set verify 'SELECT ivmx.flush() >= 0 AS flushed; SELECT coalesce(string_agg(immvrelid::text, '','' ORDER BY immvrelid::text) FILTER (WHERE diff <> 0), '''') AS wrong, count(*) AS checked FROM (SELECT immvrelid, ivmx.verify_immv(immvrelid) AS diff FROM ivmx.immv JOIN pg_class ON pg_class.oid = immvrelid WHERE relnamespace = ''insub''::regnamespace) AS v'

CREATE SCHEMA insub;
SET search_path = insub, public;

CREATE TABLE customers (id int PRIMARY KEY, region text, vip boolean);
CREATE TABLE orders (id int PRIMARY KEY, customer int, amount int, status text);
-- No key, NULLs allowed: the subqueries' tables.
CREATE TABLE blocked (customer int, region text);
CREATE TABLE caps (region text, cap int);
INSERT INTO customers VALUES (1, 'north', true), (2, 'south', false), (3, 'north', false), (4, NULL, true), (5, 'east', NULL);
INSERT INTO orders VALUES (1, 1, 100, 'open'), (2, 1, 50, 'paid'), (3, 2, 70, 'paid'), (4, 3, 20, 'open'),
                          (5, NULL, 5, 'open'), (6, 5, 70, NULL), (7, 4, NULL, 'paid');
INSERT INTO blocked VALUES (2, 'south'), (3, NULL);
INSERT INTO caps VALUES ('north', 60), ('north', 90), ('south', NULL), (NULL, 10);

-- Creates an immediate IMMV and its deferred twin d_<name>.
CREATE FUNCTION make_pair(name text, query text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ivmx.create_immv('insub.' || name, query);
    PERFORM ivmx.create_immv('insub.d_' || name, query, mode => 'deferred');
END $$;

-- Uncorrelated.
SELECT make_pair('in_plain', 'SELECT o.id, o.customer, o.amount FROM orders o WHERE o.customer IN (SELECT c.id FROM customers c WHERE c.vip)');
SELECT make_pair('any_eq', 'SELECT o.id FROM orders o WHERE o.customer = ANY (SELECT customer FROM blocked) AND o.amount > 10');
SELECT make_pair('not_in', 'SELECT o.id, o.customer FROM orders o WHERE o.customer NOT IN (SELECT b.customer FROM blocked b)');
SELECT make_pair('ne_all', 'SELECT o.id FROM orders o WHERE o.customer <> ALL (SELECT b.customer FROM blocked b WHERE b.region IS NOT NULL)');
SELECT make_pair('lt_any', 'SELECT o.id FROM orders o WHERE o.amount < ANY (SELECT cap FROM caps)');
SELECT make_pair('ge_all', 'SELECT o.id FROM orders o WHERE o.amount >= ALL (SELECT cap FROM caps WHERE region = ''north'')');
SELECT make_pair('not_ge_all', 'SELECT o.id FROM orders o WHERE NOT (o.amount >= ALL (SELECT cap FROM caps))');
SELECT make_pair('in_distinct', 'SELECT o.id FROM orders o WHERE o.customer IN (SELECT DISTINCT customer FROM blocked ORDER BY customer)');
-- No FROM list: one row or none.
SELECT make_pair('no_from', 'SELECT 1 AS present WHERE 3 NOT IN (SELECT customer FROM blocked)');
SELECT make_pair('in_expr', 'SELECT o.id FROM orders o WHERE o.amount / 10 IN (SELECT coalesce(cap, 7) / 10 FROM caps)');
-- Correlated, also to a join of outer tables.
SELECT make_pair('in_corr', 'SELECT c.id FROM customers c WHERE c.region IN (SELECT b.region FROM blocked b WHERE b.customer = c.id)');
SELECT make_pair('not_in_corr', 'SELECT c.id, c.region FROM customers c WHERE c.region NOT IN (SELECT b.region FROM blocked b WHERE b.customer = c.id)');
SELECT make_pair('lt_any_join', 'SELECT o.id, c.region FROM orders o JOIN customers c ON c.id = o.customer WHERE o.amount < ANY (SELECT k.cap FROM caps k WHERE k.region = c.region)');
SELECT make_pair('gt_all_join', 'SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer WHERE o.amount > ALL (SELECT k.cap FROM caps k WHERE k.region = c.region) AND c.vip IS NOT FALSE');
SELECT make_pair('not_in_self', 'SELECT o.id FROM orders o WHERE o.amount NOT IN (SELECT o2.amount FROM orders o2 WHERE o2.id <> o.id)');
-- Rows.
SELECT make_pair('row_in', 'SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer WHERE (o.customer, c.region) IN (SELECT b.customer, b.region FROM blocked b)');
SELECT make_pair('row_not_in', 'SELECT c.id FROM customers c WHERE (c.id, c.region) NOT IN (SELECT b.customer, b.region FROM blocked b)');
SELECT make_pair('row_lt_any', 'SELECT c.id FROM customers c WHERE (c.region, c.id) < ANY (SELECT k.region, k.cap FROM caps k)');
-- Subqueries with joins, nested, inside a subquery in FROM and in WITH,
-- with an aggregate over the filtered rows.
SELECT make_pair('in_join_inside', 'SELECT c.id FROM customers c WHERE c.id IN (SELECT o.customer FROM orders o JOIN caps k ON k.cap = o.amount)');
SELECT make_pair('in_nested', 'SELECT c.id FROM customers c WHERE c.id IN (SELECT o.customer FROM orders o WHERE o.customer NOT IN (SELECT customer FROM blocked WHERE customer IS NOT NULL))');
SELECT make_pair('in_exists', 'SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id AND o.status NOT IN (SELECT k.region FROM caps k WHERE k.cap = o.amount))');
SELECT make_pair('in_from_sub', 'SELECT s.id FROM (SELECT id FROM orders WHERE customer IN (SELECT id FROM customers WHERE region = ''north'')) AS s');
SELECT make_pair('in_cte', 'WITH b AS (SELECT customer FROM blocked WHERE region IS NOT NULL) SELECT o.id FROM orders o WHERE o.customer NOT IN (SELECT customer FROM b)');
SELECT make_pair('in_agg', 'SELECT o.status, count(*) AS n, sum(o.amount) AS total FROM orders o WHERE o.customer NOT IN (SELECT customer FROM blocked WHERE customer IS NOT NULL) GROUP BY o.status');
SELECT make_pair('in_distinct_view', 'SELECT DISTINCT c.region FROM customers c WHERE c.id IN (SELECT customer FROM orders WHERE status = ''open'')');
-- Merged USING columns on both sides.
SELECT make_pair('in_using', 'SELECT o.id, customer FROM orders o JOIN (SELECT id AS customer, region FROM customers) AS c USING (customer) WHERE customer NOT IN (SELECT customer FROM blocked JOIN (SELECT id AS customer, vip FROM customers) AS v USING (customer) WHERE v.vip IS NOT FALSE)');
SELECT make_pair('in_and_exists', 'SELECT c.id FROM customers c WHERE c.id IN (SELECT customer FROM orders) AND NOT EXISTS (SELECT 1 FROM blocked b WHERE b.customer = c.id) AND c.id NOT IN (SELECT cap FROM caps WHERE cap IS NOT NULL)');
:verify;

SELECT id, customer, amount FROM in_plain ORDER BY id;
SELECT id, customer FROM not_in ORDER BY id;
SELECT id FROM ne_all ORDER BY id;
SELECT id, region FROM not_in_corr ORDER BY id;
SELECT id FROM row_not_in ORDER BY id;

-- NULL on the right of NOT IN: nothing passes; then gone again.
INSERT INTO blocked VALUES (NULL, 'west');
:verify;
SELECT count(*) AS not_in_rows FROM not_in;
SELECT count(*) AS no_from_rows FROM no_from;
DELETE FROM blocked WHERE customer IS NULL;
:verify;
SELECT id, customer FROM not_in ORDER BY id;
-- An empty subquery: NOT IN and <> ALL pass every row, NULL on the left too;
-- IN and ANY pass none.
DELETE FROM blocked;
:verify;
SELECT id, customer FROM not_in ORDER BY id;
SELECT id FROM ne_all ORDER BY id;
SELECT count(*) AS any_eq_rows FROM any_eq;
SELECT present FROM no_from;
INSERT INTO blocked VALUES (2, 'south'), (3, NULL), (1, 'north'), (1, 'north');
:verify;
SELECT id FROM in_corr ORDER BY id;
SELECT id, region FROM not_in_corr ORDER BY id;
-- One of two duplicates, then the other.
DELETE FROM blocked WHERE ctid = (SELECT min(ctid) FROM blocked WHERE customer = 1);
:verify;
DELETE FROM blocked WHERE customer = 1;
:verify;
-- Updates on the right side: values become NULL and back.
UPDATE blocked SET region = NULL WHERE customer = 2;
:verify;
UPDATE blocked SET customer = NULL WHERE customer = 3;
:verify;
UPDATE blocked SET customer = 3, region = 'north' WHERE customer IS NULL;
:verify;
UPDATE caps SET cap = NULL WHERE cap = 90;
:verify;
UPDATE caps SET cap = cap + 5;
:verify;
INSERT INTO caps VALUES ('east', 200), ('north', 50);
:verify;
SELECT id FROM lt_any ORDER BY id;
SELECT id FROM ge_all ORDER BY id;
SELECT id FROM gt_all_join ORDER BY id;
DELETE FROM caps WHERE region = 'north';
:verify;
SELECT id FROM ge_all ORDER BY id;
-- Changes on the left side: NULLs, keys moving in and out.
INSERT INTO orders VALUES (8, 2, 500, 'open'), (9, NULL, NULL, NULL), (10, 4, 15, 'open');
:verify;
UPDATE orders SET customer = NULL WHERE id = 1;
:verify;
UPDATE orders SET customer = 3, amount = 65 WHERE id IN (5, 7);
:verify;
UPDATE orders SET amount = 70 WHERE id = 2;
:verify;
SELECT id FROM not_in_self ORDER BY id;
DELETE FROM orders WHERE id IN (3, 9);
:verify;
UPDATE customers SET vip = NOT vip, region = CASE WHEN id = 4 THEN 'north' ELSE region END;
:verify;
UPDATE customers SET region = NULL WHERE id = 2;
:verify;
INSERT INTO customers VALUES (6, 'south', true), (7, NULL, NULL);
:verify;
DELETE FROM customers WHERE id = 1;
:verify;
-- One statement changing both sides.
WITH moved AS (UPDATE orders SET customer = 6 WHERE customer = 2 RETURNING customer)
INSERT INTO blocked SELECT DISTINCT customer, 'south' FROM moved;
:verify;
WITH gone AS (DELETE FROM blocked WHERE customer = 6 RETURNING customer)
DELETE FROM customers WHERE id IN (SELECT customer FROM gone);
:verify;
-- Several statements in one transaction.
BEGIN;
INSERT INTO blocked VALUES (5, 'east');
UPDATE orders SET amount = amount + 1 WHERE customer = 5;
DELETE FROM blocked WHERE customer = 5;
INSERT INTO caps VALUES ('east', 10);
COMMIT;
:verify;
SELECT status, n, total FROM in_agg ORDER BY status;
SELECT region FROM in_distinct_view ORDER BY region;
-- TRUNCATE of each table, then refilled.
TRUNCATE blocked;
:verify;
SELECT count(*) AS not_in_rows, (SELECT count(*) FROM orders) AS orders FROM not_in;
TRUNCATE caps;
:verify;
SELECT id FROM ge_all ORDER BY id;
INSERT INTO blocked VALUES (3, 'north'), (NULL, NULL);
INSERT INTO caps VALUES ('north', 65), ('south', 80), (NULL, NULL);
:verify;
TRUNCATE orders;
:verify;
INSERT INTO orders VALUES (1, 1, 100, 'open'), (2, 3, 65, 'paid'), (3, 4, NULL, 'open'), (4, NULL, 80, 'paid'), (5, 5, 10, NULL);
:verify;
TRUNCATE customers;
:verify;
INSERT INTO customers VALUES (1, 'north', true), (3, 'north', NULL), (4, NULL, false), (5, 'south', true);
:verify;

-- Nested IMMVs: an IN subquery over an IMMV, and an IMMV with NOT IN
-- over one, immediate and deferred.
SELECT make_pair('nest_in', 'SELECT c.id, c.region FROM customers c WHERE c.id IN (SELECT customer FROM in_plain)');
SELECT make_pair('nest_not_in', 'SELECT n.id FROM not_in n WHERE n.customer NOT IN (SELECT customer FROM d_in_plain WHERE amount > 50)');
:verify;
UPDATE customers SET vip = true WHERE id = 3;
:verify;
INSERT INTO orders VALUES (6, 3, 20, 'open'), (7, NULL, 90, 'paid'), (8, 5, 55, 'open');
:verify;
DELETE FROM blocked WHERE customer IS NULL;
:verify;
SELECT id FROM nest_not_in ORDER BY id;
UPDATE orders SET amount = 40 WHERE customer = 1;
:verify;
TRUNCATE blocked;
:verify;
SELECT id FROM nest_not_in ORDER BY id;

-- What cannot be rewritten is rejected, naming the construct, and leaves
-- nothing behind.
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE ''rej%'') AS relations'
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE o.customer IN (SELECT customer FROM blocked) OR o.amount > 10');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id, o.customer IN (SELECT customer FROM blocked) AS is_blocked FROM orders o');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer AND c.id NOT IN (SELECT customer FROM blocked)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.status, count(*) AS n FROM orders o GROUP BY o.status HAVING o.status IN (SELECT region FROM caps)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE NOT NOT (o.customer IN (SELECT customer FROM blocked))');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE o.amount IN (SELECT max(cap) FROM caps)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE o.customer NOT IN (SELECT customer FROM blocked GROUP BY customer)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE o.customer IN (SELECT customer FROM blocked LIMIT 1)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE o.amount > ALL (SELECT DISTINCT ON (region) cap FROM caps ORDER BY region, cap)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE o.customer IN (SELECT customer FROM blocked UNION SELECT id FROM customers)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE (SELECT max(cap) FROM caps) IN (SELECT cap FROM caps)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE o.customer IN (SELECT customer FROM blocked WHERE (SELECT 1) = 1)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE o.amount < ANY (SELECT cap FROM caps WHERE random() > 0.5)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT o.id FROM orders o WHERE o.customer IN (SELECT 1)');
:rejected;
-- Only the subquery's own WHERE clause may read the outer query's columns
-- (there the comparison of IN goes too): not a nested subquery's.
SELECT ivmx.create_immv('rej', 'SELECT c.id FROM customers c WHERE c.id IN (SELECT o.customer FROM orders o WHERE o.amount NOT IN (SELECT cap FROM caps WHERE region = c.region))');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT c.id FROM customers c WHERE c.id IN (SELECT o.customer FROM orders o JOIN caps k ON k.cap = o.amount AND k.region = c.region)');
:rejected;
:verify;

-- Privileges: no role reads through an IN subquery, or through an IMMV
-- with one, what it may not read in the tables. The owner may read both
-- tables; the peeker may read customers, and of blocked only the customer
-- column; the snoop may read customers only.
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_in_owner;
DROP ROLE IF EXISTS regress_ivmx_in_peeker;
DROP ROLE IF EXISTS regress_ivmx_in_snoop;
CREATE ROLE regress_ivmx_in_owner LOGIN;
CREATE ROLE regress_ivmx_in_peeker LOGIN;
CREATE ROLE regress_ivmx_in_snoop LOGIN;
GRANT USAGE, CREATE ON SCHEMA insub TO regress_ivmx_in_owner, regress_ivmx_in_peeker, regress_ivmx_in_snoop;
GRANT SELECT, TRIGGER ON customers TO regress_ivmx_in_owner, regress_ivmx_in_peeker, regress_ivmx_in_snoop;
GRANT SELECT, TRIGGER ON blocked TO regress_ivmx_in_owner;
GRANT SELECT (customer), TRIGGER ON blocked TO regress_ivmx_in_peeker;
\c - regress_ivmx_in_owner
SELECT ivmx.create_immv('insub.owner_ok', 'SELECT c.id FROM insub.customers c WHERE c.id NOT IN (SELECT b.customer FROM insub.blocked b WHERE b.customer IS NOT NULL)');
SELECT ivmx.create_immv('insub.d_owner_ok', 'SELECT c.id, c.region FROM insub.customers c WHERE c.region IN (SELECT b.region FROM insub.blocked b)', mode => 'deferred');
\c - regress_ivmx_in_peeker
-- blocked.region is not the peeker's to read, not even inside NOT IN or
-- IN, nor through the owner's IMMV that holds the regions it matched.
SELECT ivmx.create_immv('insub.rej_region', 'SELECT c.id FROM insub.customers c WHERE c.region NOT IN (SELECT b.region FROM insub.blocked b)');
:rejected;
SELECT ivmx.create_immv('insub.rej_region', 'SELECT c.id FROM insub.customers c WHERE c.id IN (SELECT b.customer FROM insub.blocked b WHERE b.region = ''north'')', mode => 'deferred');
:rejected;
SELECT count(*) FROM insub.d_owner_ok;
\c - regress_ivmx_in_snoop
-- The snoop cannot read the owner's IMMVs, which tell which customers are
-- blocked, nor flush them, nor materialize the same with an IMMV of its
-- own.
SELECT count(*) FROM insub.owner_ok;
SELECT count(*) FROM insub.d_owner_ok;
SELECT ivmx.flush('insub.d_owner_ok');
SELECT ivmx.create_immv('insub.rej_snoop', 'SELECT c.id FROM insub.customers c WHERE c.id IN (SELECT b.customer FROM insub.blocked b)');
:rejected;
\c - :admin
SET search_path = insub, public;
INSERT INTO blocked VALUES (1, 'north'), (4, NULL), (NULL, 'x');
DELETE FROM customers WHERE id = 5;
:verify;
SELECT id FROM owner_ok ORDER BY id;
SELECT id, region FROM d_owner_ok ORDER BY id;
UPDATE blocked SET region = 'south' WHERE region = 'north';
:verify;
-- Revoking the owner's right on the table the subquery reads stops its
-- immediate IMMV from being fed (a WARNING), not the writer.
REVOKE SELECT ON blocked FROM regress_ivmx_in_owner;
INSERT INTO blocked VALUES (3, 'north');
SELECT count(*) AS blocked_rows FROM blocked;

-- Dropping the schema drops its IMMVs with their catalog rows and triggers.
SET client_min_messages = warning;
DROP SCHEMA insub CASCADE;
RESET client_min_messages;
RESET search_path;
DROP ROLE regress_ivmx_in_owner;
DROP ROLE regress_ivmx_in_peeker;
DROP ROLE regress_ivmx_in_snoop;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
SELECT count(*) AS orphaned_catalog_rows FROM ivmx.immv WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = immvrelid);
SELECT count(*) AS triggers_left FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace::regnamespace::text = 'insub';
