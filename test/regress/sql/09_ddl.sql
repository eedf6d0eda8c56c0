CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- DDL around IMMVs: renaming the IMMV, its columns, the base table and its
-- columns (maintenance keeps working), moving them to another schema,
-- changing and dropping base columns, dropping IMMVs and base tables, the
-- ivmx.immvs listing, get_immv_def, and refresh_immv with and without data.

CREATE TABLE orders (id int PRIMARY KEY, customer text, amount int, note text);
INSERT INTO orders VALUES (1, 'ann', 10, NULL), (2, 'bob', 20, 'x'), (3, 'ann', 30, NULL);
SELECT ivmx.create_immv('per_customer',
    'SELECT customer, count(*) AS n, sum(amount) AS total, max(amount) AS biggest
       FROM orders GROUP BY customer');
SELECT ivmx.create_immv('big_orders', 'SELECT id, customer, amount FROM orders WHERE amount >= 20');

-- Capture triggers on the base table, a guard trigger on each IMMV (all internal).
CREATE VIEW ivmx_triggers AS
SELECT tgrelid::regclass AS rel, p.proname AS function, bool_and(tgisinternal) AS internal
  FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE p.pronamespace = 'ivmx'::regnamespace
 GROUP BY 1, 2;
SELECT rel, function, internal FROM ivmx_triggers ORDER BY rel::text, function;

SELECT immv, schemaname, immvname, mode, populated, definition FROM ivmx.immvs ORDER BY immvname;
SELECT ivmx.get_immv_def('per_customer');

-- Renaming the IMMV.
ALTER TABLE per_customer RENAME TO by_customer;
INSERT INTO orders VALUES (4, 'cid', 5, NULL);
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('big_orders') AS big_orders;
SELECT immv, immvname FROM ivmx.immvs ORDER BY immvname;

-- Renaming IMMV columns (group key, aggregate, plain column, key column).
ALTER TABLE by_customer RENAME COLUMN customer TO who;
ALTER TABLE by_customer RENAME COLUMN total TO sum_amount;
ALTER TABLE big_orders RENAME COLUMN amount TO amt;
ALTER TABLE big_orders RENAME COLUMN id TO order_id;     -- the key rows are matched by
INSERT INTO orders VALUES (5, 'ann', 50, NULL), (6, 'dan', 60, NULL);
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('big_orders') AS big_orders;
UPDATE orders SET amount = amount + 1 WHERE customer = 'ann';
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('big_orders') AS big_orders;
DELETE FROM orders WHERE id = 5;
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('big_orders') AS big_orders;
SELECT who, n, sum_amount, biggest FROM by_customer ORDER BY who;
SELECT order_id, customer, amt FROM big_orders ORDER BY order_id;

-- Renaming the base table and its columns.
ALTER TABLE orders RENAME TO purchases;
ALTER TABLE purchases RENAME COLUMN amount TO price;
ALTER TABLE purchases RENAME COLUMN customer TO buyer;
SELECT ivmx.get_immv_def('by_customer');
SELECT ivmx.get_immv_def('big_orders');
INSERT INTO purchases VALUES (7, 'eve', 70, NULL);
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('big_orders') AS big_orders;
UPDATE purchases SET buyer = 'bob' WHERE buyer = 'ann';
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('big_orders') AS big_orders;
DELETE FROM purchases WHERE price = (SELECT max(price) FROM purchases);
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('big_orders') AS big_orders;
SELECT who, n, sum_amount, biggest FROM by_customer ORDER BY who;

-- Moving the base table and an IMMV to another schema.
CREATE SCHEMA elsewhere;
ALTER TABLE purchases SET SCHEMA elsewhere;
ALTER TABLE big_orders SET SCHEMA elsewhere;
INSERT INTO elsewhere.purchases VALUES (8, 'fay', 80, NULL);
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('elsewhere.big_orders') AS big_orders;
SELECT immv, schemaname, immvname FROM ivmx.immvs ORDER BY immvname;
SELECT ivmx.get_immv_def('elsewhere.big_orders');

-- Base columns: adding one, dropping an unused one, changing or dropping a
-- column an IMMV reads (refused).
ALTER TABLE elsewhere.purchases ADD COLUMN extra int DEFAULT 1;
ALTER TABLE elsewhere.purchases DROP COLUMN note;
INSERT INTO elsewhere.purchases VALUES (9, 'gus', 90, 2);
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('elsewhere.big_orders') AS big_orders;
UPDATE elsewhere.purchases SET extra = 3, price = price - 1;
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('elsewhere.big_orders') AS big_orders;
-- (Changing the type must be refused as for a column a view reads, with a
-- proper error rather than an internal one.)
DO $$
DECLARE
    outcome text;
BEGIN
    BEGIN
        ALTER TABLE elsewhere.purchases ALTER COLUMN price TYPE bigint;
        outcome := 'accepted';
    EXCEPTION WHEN OTHERS THEN
        outcome := CASE WHEN SQLSTATE LIKE 'XX%' THEN 'internal error ' || SQLSTATE || ': ' || SQLERRM
                        ELSE 'refused' END;
    END;
    RAISE NOTICE 'ALTER COLUMN TYPE of a column IMMVs read: %', outcome;
END $$;
SELECT format_type(atttypid, atttypmod) AS price_type FROM pg_attribute
 WHERE attrelid = 'elsewhere.purchases'::regclass AND attname = 'price';
ALTER TABLE elsewhere.purchases DROP COLUMN buyer;
SELECT who, n, sum_amount, biggest FROM by_customer ORDER BY who;
SELECT order_id, customer, amt FROM elsewhere.big_orders ORDER BY order_id;

-- refresh_immv with data recomputes (returns the row count).
SELECT ivmx.refresh_immv('by_customer');
SELECT ivmx.verify_immv('by_customer') AS by_customer;
-- refresh_immv without data empties the IMMV and suspends maintenance.
SELECT ivmx.refresh_immv('by_customer', false);
SELECT immvname, populated FROM ivmx.immvs ORDER BY immvname;
SELECT count(*) AS rows_while_unpopulated FROM by_customer;
INSERT INTO elsewhere.purchases VALUES (10, 'hal', 100, 0);
UPDATE elsewhere.purchases SET price = 1;
DELETE FROM elsewhere.purchases WHERE id = 10;
SELECT count(*) AS rows_while_unpopulated FROM by_customer;
SELECT ivmx.verify_immv('elsewhere.big_orders') AS big_orders;
SELECT ivmx.verify_immv('by_customer');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
TRUNCATE elsewhere.purchases;
SELECT count(*) AS rows_while_unpopulated FROM by_customer;
INSERT INTO elsewhere.purchases VALUES (1, 'ann', 10, 0), (2, 'ann', 20, 0), (3, 'bob', 30, 0);
-- Refreshing with data populates it and resumes maintenance.
SELECT ivmx.refresh_immv('by_customer', true);
SELECT immvname, populated FROM ivmx.immvs ORDER BY immvname;
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('elsewhere.big_orders') AS big_orders;
INSERT INTO elsewhere.purchases VALUES (4, 'cid', 40, 0);
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('elsewhere.big_orders') AS big_orders;
DELETE FROM elsewhere.purchases WHERE id = 2;
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('elsewhere.big_orders') AS big_orders;
SELECT who, n, sum_amount, biggest FROM by_customer ORDER BY who;

-- An unpopulating refresh that is rolled back leaves the IMMV maintained.
BEGIN;
SELECT ivmx.refresh_immv('by_customer', false);
INSERT INTO elsewhere.purchases VALUES (5, 'dan', 5, 0);
ROLLBACK;
SELECT immvname, populated FROM ivmx.immvs WHERE immvname = 'by_customer';
UPDATE elsewhere.purchases SET price = price * 2;
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('elsewhere.big_orders') AS big_orders;
-- Unpopulate and repopulate within one transaction.
BEGIN;
SELECT ivmx.refresh_immv('by_customer', false);
DELETE FROM elsewhere.purchases WHERE id = 1;
SELECT ivmx.refresh_immv('by_customer', true);
INSERT INTO elsewhere.purchases VALUES (6, 'eve', 6, 0);
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('elsewhere.big_orders') AS big_orders;
COMMIT;
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('elsewhere.big_orders') AS big_orders;

-- An aggregate without GROUP BY has no row while unpopulated, one after.
SELECT ivmx.create_immv('purchase_total', 'SELECT count(*) AS n, sum(price) AS total FROM elsewhere.purchases');
SELECT ivmx.refresh_immv('purchase_total', false);
SELECT count(*) AS rows_while_unpopulated FROM purchase_total;
DELETE FROM elsewhere.purchases WHERE id = 6;
SELECT ivmx.refresh_immv('purchase_total');
SELECT n, total FROM purchase_total;
SELECT ivmx.verify_immv('purchase_total') AS purchase_total;

-- Functions on a relation that is not an IMMV.
CREATE TABLE plain (a int);
SELECT ivmx.refresh_immv('plain');
SELECT ivmx.verify_immv('plain');
SELECT ivmx.get_immv_def('plain');
SELECT ivmx.refresh_immv('no_such_table');

-- An IMMV created or dropped in a transaction that rolls back.
BEGIN;
SELECT ivmx.create_immv('short_lived', 'SELECT buyer FROM elsewhere.purchases');
ROLLBACK;
SELECT count(*) AS short_lived FROM pg_class WHERE relname = 'short_lived';
BEGIN;
DROP TABLE by_customer;
ROLLBACK;
INSERT INTO elsewhere.purchases VALUES (11, 'ivy', 11, 0);
SELECT ivmx.verify_immv('by_customer') AS by_customer, ivmx.verify_immv('elsewhere.big_orders') AS big_orders;

-- Creating, dropping and re-creating under the same name inside one
-- transaction, with changes to the base table in between.
BEGIN;
CREATE TABLE tx_base (id int PRIMARY KEY, g int);
INSERT INTO tx_base VALUES (1, 1);
SELECT ivmx.create_immv('tx_immv', 'SELECT g, count(*) AS n FROM tx_base GROUP BY g');
INSERT INTO tx_base VALUES (2, 1);
UPDATE tx_base SET g = 2 WHERE id = 1;
SELECT ivmx.verify_immv('tx_immv') AS tx_immv;
DROP TABLE tx_immv;
SELECT ivmx.create_immv('tx_immv', 'SELECT g, max(id) AS top FROM tx_base GROUP BY g');
INSERT INTO tx_base VALUES (3, 2);
DELETE FROM tx_base WHERE id = 3;
SELECT ivmx.verify_immv('tx_immv') AS tx_immv;
SAVEPOINT s;
DROP TABLE tx_immv;
ROLLBACK TO SAVEPOINT s;
INSERT INTO tx_base VALUES (4, 4);
SELECT ivmx.verify_immv('tx_immv') AS tx_immv;
COMMIT;
INSERT INTO tx_base VALUES (5, 4);
SELECT ivmx.verify_immv('tx_immv') AS tx_immv;
SELECT g, top FROM tx_immv ORDER BY g;
DROP TABLE tx_base CASCADE;

-- DROP TABLE of an IMMV forgets it; the base keeps capture triggers while
-- another IMMV reads it, and loses them with the last one.
DROP TABLE elsewhere.big_orders;
SELECT immvname FROM ivmx.immvs ORDER BY immvname;
SELECT rel, function FROM ivmx_triggers ORDER BY rel::text, function;
UPDATE elsewhere.purchases SET price = price + 1;
SELECT ivmx.verify_immv('by_customer') AS by_customer;
DROP TABLE by_customer, purchase_total;
SELECT count(*) AS immvs FROM ivmx.immv;
SELECT count(*) AS dependencies FROM ivmx.immv_dependency;
SELECT rel, function FROM ivmx_triggers ORDER BY rel::text, function;
INSERT INTO elsewhere.purchases VALUES (12, 'jon', 12, 0);

-- DROP of a base table: refused while IMMVs read it, cascades to them.
SELECT ivmx.create_immv('v1', 'SELECT buyer, count(*) AS n FROM elsewhere.purchases GROUP BY buyer');
SELECT ivmx.create_immv('v2', 'SELECT DISTINCT buyer FROM elsewhere.purchases');
DROP TABLE elsewhere.purchases;
TRUNCATE elsewhere.purchases;
SELECT ivmx.verify_immv('v1') AS v1, ivmx.verify_immv('v2') AS v2;
DROP TABLE elsewhere.purchases CASCADE;
SELECT count(*) AS immvs FROM ivmx.immv;
SELECT count(*) AS dependencies FROM ivmx.immv_dependency;
SELECT count(*) AS tables_left FROM pg_class WHERE relname IN ('v1', 'v2');

-- DROP SCHEMA ... CASCADE takes IMMVs and base tables along.
CREATE TABLE elsewhere.src (k int, v int);
INSERT INTO elsewhere.src VALUES (1, 1);
SELECT ivmx.create_immv('elsewhere.src_sum', 'SELECT k, sum(v) AS s FROM elsewhere.src GROUP BY k');
SELECT ivmx.create_immv('public_src', 'SELECT k, v FROM elsewhere.src');
SELECT immv, schemaname, immvname FROM ivmx.immvs ORDER BY immvname;
DROP SCHEMA elsewhere CASCADE;
SELECT count(*) AS immvs FROM ivmx.immv;
SELECT count(*) AS dependencies FROM ivmx.immv_dependency;

-- Dropping a column of an IMMV must not break maintenance: it is refused
-- (the IMMV would no longer match its definition).
CREATE TABLE dc_base (id int PRIMARY KEY, g int, v int);
INSERT INTO dc_base VALUES (1, 1, 1), (2, 1, 2);
SELECT ivmx.create_immv('dc_immv', 'SELECT g, count(*) AS n, sum(v) AS total FROM dc_base GROUP BY g');
DO $$
DECLARE
    outcome text;
BEGIN
    BEGIN
        ALTER TABLE dc_immv DROP COLUMN n;
        outcome := 'accepted';
    EXCEPTION WHEN OTHERS THEN
        outcome := CASE WHEN SQLSTATE LIKE 'XX%' THEN 'internal error ' || SQLSTATE || ': ' || SQLERRM
                        ELSE 'refused' END;
    END;
    RAISE NOTICE 'DROP COLUMN of an IMMV column: %', outcome;
END $$;
INSERT INTO dc_base VALUES (3, 2, 3);
UPDATE dc_base SET v = v * 10;
SELECT ivmx.verify_immv('dc_immv') AS dc_immv;
SELECT g, n, total FROM dc_immv ORDER BY g;
DROP TABLE dc_base CASCADE;

-- A function an IMMV uses is made volatile after the IMMV was created.
-- Whether maintenance then refuses changes to the base table or keeps going,
-- another IMMV on the same table must never silently fall behind, also in a
-- new session whose first attempt failed.
CREATE FUNCTION plus_one(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1';
CREATE TABLE fn_base (id int PRIMARY KEY, v int);
SELECT ivmx.create_immv('fn_first', 'SELECT id, plus_one(v) AS w FROM fn_base');
SELECT ivmx.create_immv('fn_second', 'SELECT count(*) AS n, sum(v) AS s FROM fn_base');
ALTER FUNCTION plus_one(int) VOLATILE;
\c -
DO $$ BEGIN INSERT INTO fn_base VALUES (1, 1); EXCEPTION WHEN OTHERS THEN NULL; END $$;
DO $$ BEGIN INSERT INTO fn_base VALUES (2, 2); EXCEPTION WHEN OTHERS THEN NULL; END $$;
DO $$ BEGIN UPDATE fn_base SET v = v + 1; EXCEPTION WHEN OTHERS THEN NULL; END $$;
SELECT ivmx.verify_immv('fn_second') AS fn_second;
ALTER FUNCTION plus_one(int) IMMUTABLE;
SELECT ivmx.refresh_immv('fn_first') >= 0 AS fn_first, ivmx.refresh_immv('fn_second') >= 0 AS fn_second;
INSERT INTO fn_base VALUES (3, 3);
SELECT ivmx.verify_immv('fn_first') AS fn_first, ivmx.verify_immv('fn_second') AS fn_second;
DROP TABLE fn_base CASCADE;
DROP FUNCTION plus_one(int);

-- A table that starts inheriting from a base table after the IMMV was
-- created would add its rows to the defining query: either that is refused,
-- or the IMMV stays equal to its query.
CREATE TABLE ih_base (id int, g int);
INSERT INTO ih_base VALUES (1, 1);
SELECT ivmx.create_immv('ih_immv', 'SELECT g, count(*) AS n FROM ih_base GROUP BY g');
DO $$ BEGIN
    CREATE TABLE ih_child () INHERITS (ih_base);
    INSERT INTO ih_child VALUES (2, 1);
EXCEPTION WHEN OTHERS THEN NULL; END $$;
INSERT INTO ih_base VALUES (3, 2);
SELECT ivmx.verify_immv('ih_immv') AS ih_immv;
CREATE TABLE ih_other (id int, g int);
DO $$ BEGIN
    ALTER TABLE ih_other INHERIT ih_base;
    INSERT INTO ih_other VALUES (4, 1);
EXCEPTION WHEN OTHERS THEN NULL; END $$;
UPDATE ih_base SET g = g + 10;
SELECT ivmx.verify_immv('ih_immv') AS ih_immv;
SET client_min_messages = warning;
DROP TABLE IF EXISTS ih_child, ih_other;
DROP TABLE ih_base CASCADE;
RESET client_min_messages;

DROP VIEW ivmx_triggers;
DROP TABLE plain;
