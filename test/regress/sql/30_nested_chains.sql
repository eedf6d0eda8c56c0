CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Chains of nested IMMVs of depth 3, base -> A -> B -> C, in all eight
-- combinations of immediate (i) and deferred (d) maintenance per level:
-- chain 'dii' has A deferred, B and C immediate. A joins two base tables,
-- B aggregates A per group, C filters B. Every chain reads the same base
-- tables, so one statement changes all eight; after it, every level is
-- checked with verify_immv. An immediate level is current at once. A
-- deferred level lags (non-zero) only when its upstream relation changed;
-- ivmx.flush on the leaf C brings every deferred level of its chain
-- forward, upstream first, after which every level is 0. The scheduler is
-- switched off for this file: only ivmx.flush applies deferred changes.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

CREATE TABLE items (item int PRIMARY KEY, cat text, price int);
CREATE TABLE orders (id int PRIMARY KEY, cust int, item int, qty int);
INSERT INTO items VALUES (1, 'tools', 10), (2, 'tools', 25), (3, 'toys', 40), (4, 'food', 5);
INSERT INTO orders VALUES (1, 1, 1, 2), (2, 1, 3, 3), (3, 2, 2, 4), (4, 3, 1, 1),
                          (5, 3, 4, 10), (6, 2, 3, 1);

-- The eight chains. A nested IMMV lists its columns explicitly.
SET client_min_messages = warning;  -- A and C get no automatic index
DO $$
DECLARE
    m text;
BEGIN
    FOREACH m IN ARRAY ARRAY['iii', 'iid', 'idi', 'idd', 'dii', 'did', 'ddi', 'ddd'] LOOP
        PERFORM ivmx.create_immv('a_' || m,
            'SELECT o.id, o.cust, i.cat, o.qty * i.price AS amount
               FROM orders o JOIN items i ON o.item = i.item',
            mode => CASE substr(m, 1, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END);
        PERFORM ivmx.create_immv('b_' || m,
            format('SELECT cust, cat, count(*) AS n, sum(amount) AS total, max(amount) AS top
                      FROM %I GROUP BY cust, cat', 'a_' || m),
            mode => CASE substr(m, 2, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END);
        PERFORM ivmx.create_immv('c_' || m,
            format('SELECT cust, cat, n, total FROM %I WHERE total >= 100', 'b_' || m),
            mode => CASE substr(m, 3, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END);
    END LOOP;
END;
$$;
RESET client_min_messages;
SELECT immv, mode, depth, upstream FROM ivmx.immv_status
 ORDER BY substr(immv::text, 3), depth;

-- One row per chain: the verify_immv of its three levels.
\set chains 'unnest(ARRAY[''iii'', ''iid'', ''idi'', ''idd'', ''dii'', ''did'', ''ddi'', ''ddd'']) WITH ORDINALITY AS ch(m, pos)'
\set verify 'SELECT m AS chain, ivmx.verify_immv((''a_'' || m)::regclass) AS a, ivmx.verify_immv((''b_'' || m)::regclass) AS b, ivmx.verify_immv((''c_'' || m)::regclass) AS c FROM :chains ORDER BY pos'
-- Flush every leaf (only the leaf: its deferred upstream levels must follow).
\set flush 'SELECT count(ivmx.flush((''c_'' || m)::regclass)) AS leaves_flushed FROM :chains'
-- Every leaf holds the same rows as the leaf of the all-immediate chain,
-- and that one equals C computed from the base tables.
\set leaves 'SELECT m AS chain, (SELECT count(*) FROM ((SELECT cust, cat, n, total FROM c_iii EXCEPT ALL SELECT cust, cat, n, total FROM pg_temp.leaf(m)) UNION ALL (SELECT cust, cat, n, total FROM pg_temp.leaf(m) EXCEPT ALL SELECT cust, cat, n, total FROM c_iii)) d) AS differs FROM :chains ORDER BY pos'
CREATE FUNCTION pg_temp.leaf(m text) RETURNS TABLE (cust int, cat text, n bigint, total bigint)
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT cust, cat, n, total FROM %I', 'c_' || m);
END;
$$;
CREATE VIEW leaf_from_base AS
SELECT cust, cat, count(*) AS n, sum(o.qty * i.price) AS total
  FROM orders o JOIN items i ON o.item = i.item
 GROUP BY cust, cat HAVING sum(o.qty * i.price) >= 100;
\set base 'SELECT (SELECT count(*) FROM ((TABLE leaf_from_base EXCEPT ALL SELECT cust, cat, n, total FROM c_iii) UNION ALL (SELECT cust, cat, n, total FROM c_iii EXCEPT ALL TABLE leaf_from_base)) d) AS c_iii_differs_from_base'
:verify;
:leaves;
:base;
SELECT cust, cat, n, total FROM c_iii ORDER BY cust, cat;

-- INSERT: new groups, and a group crossing C's threshold.
INSERT INTO orders VALUES (7, 4, 3, 3), (8, 1, 2, 2), (9, 2, 1, 1);
:verify;
:flush;
:verify;

-- UPDATE of one base table: an order moves to another customer (group),
-- another one's quantity drops a group below the threshold.
UPDATE orders SET cust = 4 WHERE id = 1;
:verify;
:flush;
:verify;
UPDATE orders SET qty = 1 WHERE id = 2;
:verify;
:flush;
:verify;

-- UPDATE of the other base table: a price change reaches many rows of A,
-- lowers max(amount) in some groups, and moves groups across C's filter.
UPDATE items SET price = price * 3 WHERE item IN (1, 3);
:verify;
:flush;
:verify;
UPDATE items SET cat = 'toys' WHERE item = 4;
:verify;
:flush;
:verify;
SELECT cust, cat, n, total FROM c_iii ORDER BY cust, cat;
:leaves;
:base;

-- DELETE: a whole group disappears, another loses its maximum.
DELETE FROM orders WHERE cust = 3;
:verify;
:flush;
:verify;
DELETE FROM orders WHERE id = 7;
:verify;
:flush;
:verify;
:leaves;
:base;

-- Several statements before one flush: the leaf brings all of them.
INSERT INTO orders VALUES (10, 5, 3, 10), (11, 5, 2, 1);
UPDATE orders SET item = 2 WHERE id = 10;
DELETE FROM orders WHERE id = 11;
UPDATE items SET price = 30 WHERE item = 2;
:verify;
:flush;
:verify;
:leaves;
:base;

-- Inside a transaction: a flush sees the transaction's own changes, and a
-- rollback takes the flushed state back with the changes.
BEGIN;
INSERT INTO orders VALUES (12, 6, 3, 9);
:verify;
:flush;
:verify;
UPDATE orders SET qty = qty + 1 WHERE cust = 6;
:flush;
:verify;
ROLLBACK;
:verify;
BEGIN;
DELETE FROM orders WHERE id = 3;
:flush;
:verify;
COMMIT;
:verify;
-- A savepoint rolled back after a flush inside it takes back what that
-- flush applied; the changes before it stay applied, later ones follow.
BEGIN;
UPDATE orders SET qty = qty + 1 WHERE id = 2;
:flush;
SAVEPOINT s;
INSERT INTO orders VALUES (13, 7, 3, 5);
:flush;
:verify;
ROLLBACK TO SAVEPOINT s;
:verify;
UPDATE orders SET cust = 7 WHERE id = 2;
:verify;
:flush;
:verify;
COMMIT;
:verify;
:leaves;
:base;

-- ivmx.flush() without an argument brings every deferred IMMV forward,
-- upstream ones first.
UPDATE orders SET qty = qty * 2 WHERE cust = 7;
:verify;
SELECT ivmx.flush() >= 0 AS flushed_all;
:verify;

-- TRUNCATE of a base table empties every chain: immediate levels at once,
-- deferred levels (some are recomputed by the TRUNCATE itself) by the
-- flush at the latest.
TRUNCATE orders;
:verify;
:flush;
:verify;
SELECT m AS chain,
       (SELECT count(*) FROM pg_temp.leaf(m)) AS c_rows
  FROM :chains ORDER BY pos;
INSERT INTO orders VALUES (1, 1, 1, 20), (2, 1, 3, 1), (3, 2, 2, 4), (4, 2, 3, 9);
:verify;
:flush;
:verify;
TRUNCATE items;
:verify;
:flush;
:verify;
INSERT INTO items VALUES (1, 'tools', 10), (2, 'tools', 25), (3, 'toys', 40);
:verify;
:flush;
:verify;
SELECT cust, cat, n, total FROM c_iii ORDER BY cust, cat;
:leaves;
:base;

-- Nothing is pending anywhere now.
SELECT immv, state, pending_rows FROM ivmx.immv_status
 WHERE mode = 'deferred' ORDER BY substr(immv::text, 3), depth;

SET client_min_messages = warning;
DROP TABLE orders, items CASCADE;
RESET client_min_messages;
SELECT count(*) FROM ivmx.immv;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
