CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- GROUP BY views with count/sum/avg (and min/max alongside): plain keys,
-- expression keys, several keys, keys not in the select list, expressions of
-- keys, NULL keys, a WHERE clause. Rows move between groups, groups appear and
-- disappear. :verify checks every IMMV of this file against its query.

CREATE TABLE sales (
    id int PRIMARY KEY,
    region text,
    product text NOT NULL,
    qty int,
    price numeric(10,2),
    weight float8
);
INSERT INTO sales VALUES
    (1, 'north', 'apple', 10, 1.50, 0.5),
    (2, 'north', 'pear', 5, 2.00, 0.25),
    (3, 'south', 'apple', 7, 1.25, 1.5),
    (4, 'south', 'apple', NULL, 1.75, NULL),
    (5, NULL, 'plum', 3, NULL, 2.25),
    (6, 'east', 'pear', 1, 3.00, 0.75);

SELECT ivmx.create_immv('by_region',
    'SELECT region, count(*) AS n, count(qty) AS n_qty, sum(qty) AS qty,
            sum(price) AS revenue, avg(qty) AS avg_qty, avg(price) AS avg_price,
            sum(weight) AS weight, avg(weight) AS avg_weight
       FROM sales GROUP BY region');
SELECT ivmx.create_immv('by_region_product',
    'SELECT region, product, count(*) AS n, sum(qty * price) AS amount
       FROM sales GROUP BY region, product');
-- Grouping by an expression; a key that is not selected; an expression of a key.
SELECT ivmx.create_immv('by_parity',
    'SELECT qty % 2 AS parity, count(*) AS n, sum(qty) AS qty FROM sales GROUP BY qty % 2');
SELECT ivmx.create_immv('hidden_key',
    'SELECT count(*) AS n, sum(qty) AS qty FROM sales GROUP BY region');
SELECT ivmx.create_immv('key_expr',
    'SELECT upper(product) AS product_uc, length(product) AS len, sum(qty) AS qty,
            max(price) AS top_price
       FROM sales GROUP BY product');
-- A WHERE clause, and min/max next to the linear aggregates.
SELECT ivmx.create_immv('big_orders',
    'SELECT product, count(*) AS n, sum(qty) AS qty, min(qty) AS min_qty, max(qty) AS max_qty
       FROM sales WHERE qty >= 5 GROUP BY product');

\set verify 'SELECT ivmx.verify_immv(''by_region'') AS by_region, ivmx.verify_immv(''by_region_product'') AS by_region_product, ivmx.verify_immv(''by_parity'') AS by_parity, ivmx.verify_immv(''hidden_key'') AS hidden_key, ivmx.verify_immv(''key_expr'') AS key_expr, ivmx.verify_immv(''big_orders'') AS big_orders'
\set show_region 'SELECT region, n, n_qty, qty, revenue, avg_qty, avg_price, weight, avg_weight FROM by_region ORDER BY region'
\set show_region_query 'SELECT region, count(*) AS n, count(qty) AS n_qty, sum(qty) AS qty, sum(price) AS revenue, avg(qty) AS avg_qty, avg(price) AS avg_price, sum(weight) AS weight, avg(weight) AS avg_weight FROM sales GROUP BY region ORDER BY region'
:verify;

-- Group keys get a unique index (NULLS NOT DISTINCT: NULL is one group),
-- also a key that is not selected (kept in a bookkeeping column).
SELECT pg_get_indexdef(indexrelid) AS definition FROM pg_index WHERE indrelid = 'by_region'::regclass;
SELECT count(*) AS unique_indexes FROM pg_index WHERE indrelid = 'hidden_key'::regclass AND indisunique;

:show_region;
:show_region_query;
SELECT region, product, n, amount FROM by_region_product ORDER BY region, product;
SELECT parity, n, qty FROM by_parity ORDER BY parity;
SELECT n, qty FROM hidden_key ORDER BY n, qty;
SELECT product_uc, len, qty, top_price FROM key_expr ORDER BY product_uc;
SELECT product, n, qty, min_qty, max_qty FROM big_orders ORDER BY product;

-- INSERT into existing groups, into new groups, into the NULL group.
INSERT INTO sales VALUES (7, 'north', 'apple', 2, 1.50, 0.5);
:verify;
INSERT INTO sales VALUES (8, 'west', 'kiwi', 9, 4.00, 1.0), (9, 'west', 'kiwi', 6, 4.50, 3.5);
:verify;
INSERT INTO sales VALUES (10, NULL, 'plum', NULL, 0.50, NULL), (11, NULL, 'fig', 8, 2.00, 0.5);
:verify;
INSERT INTO sales SELECT id + 100, region, product, qty * 2, price, weight FROM sales WHERE product = 'pear';
:verify;
:show_region;
:show_region_query;

-- UPDATE inside a group, across groups, of a key to and from NULL, of
-- aggregated values to and from NULL, and of several keys at once.
UPDATE sales SET qty = qty + 1 WHERE region = 'north';
:verify;
UPDATE sales SET region = 'south' WHERE id = 1;
:verify;
UPDATE sales SET region = NULL WHERE id = 6;          -- 'east' loses its only row
:verify;
UPDATE sales SET region = 'east' WHERE region IS NULL AND product = 'fig';
:verify;
UPDATE sales SET qty = NULL, price = NULL, weight = NULL WHERE region = 'west';
:verify;
SELECT region, n, n_qty, qty, revenue, avg_qty, avg_price, weight, avg_weight
  FROM by_region WHERE region = 'west';
UPDATE sales SET qty = 4, price = 1.00, weight = 0.25 WHERE id = 8;
:verify;
UPDATE sales SET region = 'north', product = 'pear' WHERE id = 3;
:verify;
UPDATE sales SET region = region, qty = qty;        -- touches every row, changes nothing
:verify;
UPDATE sales SET qty = qty + 3 WHERE qty % 2 = 1;  -- rows change parity group
:verify;
:show_region;
:show_region_query;
SELECT parity, n, qty FROM by_parity ORDER BY parity;
SELECT n, qty FROM hidden_key ORDER BY n, qty;
SELECT product, n, qty, min_qty, max_qty FROM big_orders ORDER BY product;

-- DELETE some rows, whole groups, the NULL group.
DELETE FROM sales WHERE id = 2;
:verify;
DELETE FROM sales WHERE region = 'west';
:verify;
DELETE FROM sales WHERE region IS NULL;
:verify;
SELECT region, product, n, amount FROM by_region_product ORDER BY region, product;
SELECT product_uc, len, qty, top_price FROM key_expr ORDER BY product_uc;

-- Savepoints and rollback.
BEGIN;
INSERT INTO sales VALUES (20, 'north', 'apple', 100, 9.99, 8.5);
:verify;
SAVEPOINT a;
UPDATE sales SET region = 'gone' WHERE region = 'north';
:verify;
SAVEPOINT b;
DELETE FROM sales WHERE product = 'apple';
:verify;
ROLLBACK TO SAVEPOINT b;
:verify;
:show_region;
ROLLBACK TO SAVEPOINT a;
:verify;
:show_region;
ROLLBACK;
:verify;
:show_region;

-- COPY into new and existing groups.
COPY sales FROM STDIN;
30	north	apple	4	1.00	0.5
31	mid	melon	\N	5.00	4.25
32	\N	melon	2	\N	\N
\.
:verify;
:show_region;
:show_region_query;

-- Delete every row: every group disappears.
DELETE FROM sales;
:verify;
SELECT (SELECT count(*) FROM by_region) AS by_region, (SELECT count(*) FROM by_region_product) AS by_region_product,
       (SELECT count(*) FROM by_parity) AS by_parity, (SELECT count(*) FROM hidden_key) AS hidden_key,
       (SELECT count(*) FROM key_expr) AS key_expr, (SELECT count(*) FROM big_orders) AS big_orders;
INSERT INTO sales VALUES (1, 'north', 'apple', 10, 1.50, 0.5), (2, NULL, 'pear', 5, 2.00, 0.25);
:verify;
:show_region;
-- TRUNCATE, rolled back and committed.
BEGIN;
TRUNCATE sales;
:verify;
ROLLBACK;
:verify;
TRUNCATE sales;
:verify;
SELECT count(*) AS by_region_rows FROM by_region;
INSERT INTO sales VALUES (1, 'south', 'apple', 1, 0.25, 0.125);
:verify;
:show_region;

DROP TABLE sales CASCADE;

-- Columns that are functionally dependent on a grouped primary key may be
-- selected without being grouped; changing them must show in the IMMV.
CREATE TABLE people (id int PRIMARY KEY, name text, score int);
INSERT INTO people VALUES (1, 'ann', 10), (2, 'bob', 20);
SELECT ivmx.create_immv('per_person',
    'SELECT id, name, count(*) AS n, sum(score) AS total FROM people GROUP BY id');
SELECT ivmx.verify_immv('per_person') AS per_person;
INSERT INTO people VALUES (3, 'cid', 30);
SELECT ivmx.verify_immv('per_person') AS per_person;
UPDATE people SET name = 'zoe' WHERE id = 1;
SELECT ivmx.verify_immv('per_person') AS per_person;
UPDATE people SET name = upper(name), score = score + 1 WHERE id >= 2;
SELECT ivmx.verify_immv('per_person') AS per_person;
SELECT id, name, n, total FROM per_person ORDER BY id;
DELETE FROM people WHERE id = 2;
SELECT ivmx.verify_immv('per_person') AS per_person;
SELECT id, name, n, total FROM per_person ORDER BY id;
DROP TABLE people CASCADE;
