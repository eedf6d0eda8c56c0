CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Deferred maintenance of every view shape that immediate mode supports:
-- writers only log their changes, so a deferred IMMV differs from its query
-- (verify_immv > 0, pending_rows > 0) until ivmx.flush applies the log, and
-- equals it afterwards (verify_immv = 0, pending_rows = 0).
-- The scheduler is switched off for this file so that only ivmx.flush
-- applies changes and the printed state does not race with it.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
-- This file's objects live in a schema of their own, dropped at the end:
-- the listings below show only them, and later files inherit nothing.
CREATE SCHEMA deferred_shapes;
SET search_path = deferred_shapes, public;
CREATE VIEW status AS
SELECT s.* FROM ivmx.immv_status s JOIN pg_class c ON c.oid = s.immv
 WHERE c.relnamespace = 'deferred_shapes'::regnamespace;
CREATE VIEW logs AS
SELECT l.relid, l.logrelid FROM ivmx.delta_log l JOIN pg_class c ON c.oid = l.relid
 WHERE c.relnamespace = 'deferred_shapes'::regnamespace;
-- Delta log tables (ivmx.delta_<oid>) that exist now; :logtables counts new ones.
SELECT count(*) AS logs_before FROM pg_class
 WHERE relnamespace = 'ivmx'::regnamespace AND relname ~ '^delta_[0-9]+$' \gset
\set logtables 'SELECT count(*) - :logs_before AS log_tables FROM pg_class WHERE relnamespace = ''ivmx''::regnamespace AND relname ~ ''^delta_[0-9]+$'''

\set status 'SELECT immv, mode, state, pending_rows FROM status ORDER BY immv::text'

-- One table read by three deferred views: grouped with every aggregate,
-- DISTINCT, and an aggregate without GROUP BY. They share one delta log.
CREATE TABLE grp (k int, v int);
INSERT INTO grp VALUES (1, 10), (1, 20), (2, NULL), (NULL, 5);
SELECT ivmx.create_immv('d_grouped',
    'SELECT k, count(*) AS n, count(v) AS nv, sum(v) AS s, avg(v) AS a, min(v) AS lo, max(v) AS hi
       FROM grp GROUP BY k', mode => 'deferred');
SELECT ivmx.create_immv('d_distinct', 'SELECT DISTINCT k FROM grp', mode => 'deferred');
SELECT ivmx.create_immv('d_total',
    'SELECT count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi FROM grp', mode => 'deferred');
SELECT relid, logrelid::text LIKE 'ivmx.delta_%' AS is_log FROM logs ORDER BY relid::text;

\set verify_grp 'SELECT ivmx.verify_immv(''d_grouped'') AS d_grouped, ivmx.verify_immv(''d_distinct'') AS d_distinct, ivmx.verify_immv(''d_total'') AS d_total'
\set show_grouped 'SELECT k, n, nv, s, a, lo, hi FROM d_grouped ORDER BY k'
:verify_grp;
:status;
:show_grouped;

-- Inserts: a new group, a NULL value in an existing group, a NULL key.
INSERT INTO grp VALUES (3, 7), (2, 4), (NULL, NULL), (1, 30);
-- Not applied yet: every view is behind its query.
:verify_grp;
:status;
:show_grouped;
SELECT ivmx.flush('d_grouped');
-- Only the flushed view caught up; the others still have the rows pending.
:verify_grp;
:status;
:show_grouped;
SELECT ivmx.flush('d_distinct') AS d_distinct, ivmx.flush('d_total') AS d_total;
:verify_grp;
:status;
SELECT k FROM d_distinct ORDER BY k;
SELECT n, s, lo, hi FROM d_total;
-- Nothing pending: flushing again applies nothing.
SELECT ivmx.flush('d_grouped');

-- Updates: move a row to another group, lose a group's maximum and minimum,
-- make a value NULL.
UPDATE grp SET k = 3 WHERE k = 1 AND v = 10;
UPDATE grp SET v = 1 WHERE k = 1 AND v = 30;
UPDATE grp SET v = NULL WHERE k = 3 AND v = 7;
:verify_grp;
:status;
SELECT ivmx.flush();
:verify_grp;
:status;
:show_grouped;
SELECT k FROM d_distinct ORDER BY k;
SELECT n, s, lo, hi FROM d_total;

-- Deletes: a whole group, the NULL-key group, then everything.
DELETE FROM grp WHERE k = 2;
DELETE FROM grp WHERE k IS NULL;
:verify_grp;
SELECT ivmx.flush();
:verify_grp;
:show_grouped;
SELECT k FROM d_distinct ORDER BY k;
DELETE FROM grp;
:verify_grp;
SELECT ivmx.flush();
:verify_grp;
:status;
SELECT count(*) AS groups FROM d_grouped;
SELECT k FROM d_distinct ORDER BY k;
-- The aggregate without GROUP BY keeps its one row over an empty table.
SELECT n, s, lo, hi FROM d_total;

-- A row inserted and deleted before the flush nets to nothing.
INSERT INTO grp VALUES (9, 9);
DELETE FROM grp WHERE k = 9;
:verify_grp;
:status;
SELECT ivmx.flush();
:verify_grp;
SELECT count(*) AS groups FROM d_grouped;
SELECT n, s FROM d_total;

-- Bag views: with the base table's primary key selected (rows matched by
-- key), and without a key (equal rows are duplicates, matched by value).
CREATE TABLE items (id int PRIMARY KEY, k int, v int);
CREATE TABLE dups (k int, v text);
INSERT INTO items VALUES (1, 1, 10), (2, 1, 20), (3, 2, -1);
INSERT INTO dups VALUES (1, 'a'), (1, 'a'), (2, NULL);
SELECT ivmx.create_immv('d_keyed', 'SELECT id, k, v FROM items WHERE v > 0', mode => 'deferred');
SELECT ivmx.create_immv('d_bag', 'SELECT k, v FROM dups', mode => 'deferred');
\set verify_bag 'SELECT ivmx.verify_immv(''d_keyed'') AS d_keyed, ivmx.verify_immv(''d_bag'') AS d_bag'
\set show_bag 'SELECT k, v, count(*) AS copies FROM d_bag GROUP BY k, v ORDER BY k, v'
:verify_bag;
INSERT INTO items VALUES (4, 3, 40), (5, 3, -5);
UPDATE items SET v = 5 WHERE id = 3;          -- into the filter
UPDATE items SET v = -20 WHERE id = 2;        -- out of the filter
UPDATE items SET k = 7 WHERE id = 1;          -- stays, changes
INSERT INTO dups VALUES (1, 'a'), (2, NULL), (3, 'c');
DELETE FROM dups WHERE ctid = (SELECT min(ctid) FROM dups WHERE k = 1);  -- one of three copies
UPDATE dups SET v = 'b' WHERE k = 3;
:verify_bag;
SELECT immv, pending_rows FROM status WHERE immv IN ('d_keyed'::regclass, 'd_bag'::regclass) ORDER BY immv::text;
SELECT ivmx.flush('d_keyed') AS d_keyed, ivmx.flush('d_bag') AS d_bag;
:verify_bag;
SELECT immv, pending_rows FROM status WHERE immv IN ('d_keyed'::regclass, 'd_bag'::regclass) ORDER BY immv::text;
SELECT id, k, v FROM d_keyed ORDER BY id;
:show_bag;
-- A row updated several times and a duplicate deleted and re-inserted.
UPDATE items SET v = v + 1 WHERE id = 4;
UPDATE items SET v = v + 1 WHERE id = 4;
DELETE FROM dups WHERE k = 1;
INSERT INTO dups VALUES (1, 'a');
:verify_bag;
SELECT ivmx.flush();
:verify_bag;
SELECT id, k, v FROM d_keyed ORDER BY id;
:show_bag;

-- A keyed join (the foreign key carries the other table's key): a batch that
-- changes one table is netted and applied by key. Rows changed many times in
-- one batch, deleted and re-inserted with the same image, numeric values that
-- are equal but not the same (1.0 / 1.00: netted by image), a padded bpchar.
CREATE TABLE kgroups (gid int PRIMARY KEY, label text);
CREATE TABLE kitems (iid int PRIMARY KEY, gid int NOT NULL REFERENCES kgroups, price numeric, tag char(4));
INSERT INTO kgroups VALUES (1, 'one'), (2, 'two');
INSERT INTO kitems SELECT i, 1 + i % 2, i * 1.5, 't' || i FROM generate_series(1, 6) i;
SELECT ivmx.create_immv('d_kjoin',
    'SELECT i.iid, g.gid, g.label, i.price, i.tag FROM kitems i JOIN kgroups g USING (gid)', mode => 'deferred');
\set verify_kjoin 'SELECT ivmx.verify_immv(''d_kjoin'') AS d_kjoin'
\set show_kjoin 'SELECT iid, gid, label, price::text, tag FROM d_kjoin ORDER BY iid'
UPDATE kitems SET price = price + 1 WHERE iid = 1;
UPDATE kitems SET price = price + 1 WHERE iid = 1;
UPDATE kitems SET price = price - 2 WHERE iid = 1;   -- back to the first image
UPDATE kitems SET price = 3.00 WHERE iid = 2;        -- equal to 3.0, shown differently
UPDATE kitems SET gid = 1 WHERE iid = 4;             -- moves to the other group
DELETE FROM kitems WHERE iid = 5;
INSERT INTO kitems VALUES (5, 2, 7.5, 't5');          -- the same image again
INSERT INTO kitems VALUES (7, 1, 1, 'x');
UPDATE kitems SET tag = 'y' WHERE iid = 7;
DELETE FROM kitems WHERE iid = 7;                     -- inserted and gone
INSERT INTO kitems VALUES (8, 2, NULL, NULL);
UPDATE kitems SET iid = 9 WHERE iid = 6;              -- the key itself changes
:verify_kjoin;
SELECT ivmx.flush('d_kjoin');
:verify_kjoin;
:show_kjoin;
-- A view that reads some columns only: changes of the others are no changes
-- to it (the batch is netted on the columns read, here by value).
SELECT ivmx.create_immv('d_ktags', 'SELECT i.iid, gid, i.tag, g.label FROM kitems i JOIN kgroups g USING (gid)',
    mode => 'deferred');
UPDATE kitems SET price = price + 100;
UPDATE kitems SET tag = 'z' WHERE iid = 3;
UPDATE kitems SET tag = 't3' WHERE iid = 3;
UPDATE kitems SET tag = 'new' WHERE iid = 8;
SELECT ivmx.flush('d_ktags');
SELECT rows_consumed, rows_changed FROM ivmx.refresh_history
 WHERE immvrelid = 'd_ktags'::regclass ORDER BY id DESC LIMIT 1;
SELECT ivmx.verify_immv('d_ktags');
SELECT ivmx.flush('d_kjoin');
:verify_kjoin;
UPDATE kitems SET price = price - 100;
DROP TABLE d_ktags;
-- The other table of the join changes alone, then both in one batch.
UPDATE kgroups SET label = 'uno' WHERE gid = 1;
SELECT ivmx.flush('d_kjoin');
:verify_kjoin;
UPDATE kgroups SET label = 'dos' WHERE gid = 2;
UPDATE kitems SET price = price * 2 WHERE gid = 2;
SELECT ivmx.flush('d_kjoin');
:verify_kjoin;
:show_kjoin;

-- Inner join of two tables, and a self-join.
CREATE TABLE customers (cid int PRIMARY KEY, region text);
CREATE TABLE orders (oid int PRIMARY KEY, cid int, amount int);
INSERT INTO customers VALUES (1, 'north'), (2, 'south'), (3, 'north');
INSERT INTO orders VALUES (10, 1, 100), (11, 2, 50), (12, 1, 25);
SELECT ivmx.create_immv('d_region',
    'SELECT c.region, count(*) AS n, sum(o.amount) AS total
       FROM orders o JOIN customers c ON c.cid = o.cid GROUP BY c.region', mode => 'deferred');
SELECT ivmx.create_immv('d_pairs',
    'SELECT o.oid, c.region FROM orders o JOIN customers c USING (cid)', mode => 'deferred');
CREATE TABLE emp (id int PRIMARY KEY, boss int, name text);
INSERT INTO emp VALUES (1, NULL, 'ann'), (2, 1, 'bob'), (3, 1, 'cy'), (4, 2, 'dee');
SELECT ivmx.create_immv('d_reports',
    'SELECT e.name AS worker, b.name AS manager FROM emp e JOIN emp b ON e.boss = b.id',
    mode => 'deferred');
\set verify_join 'SELECT ivmx.verify_immv(''d_region'') AS d_region, ivmx.verify_immv(''d_pairs'') AS d_pairs, ivmx.verify_immv(''d_reports'') AS d_reports'
\set show_join 'SELECT region, n, total FROM d_region ORDER BY region'
\set show_reports 'SELECT worker, manager FROM d_reports ORDER BY worker'
:verify_join;
-- Both sides of the join change before one flush.
INSERT INTO orders VALUES (13, 3, 10), (14, 4, 1);
INSERT INTO customers VALUES (4, 'east');
UPDATE customers SET region = 'south' WHERE cid = 1;
DELETE FROM orders WHERE oid = 11;
:verify_join;
SELECT immv, pending_rows FROM status WHERE immv IN ('d_region'::regclass, 'd_pairs'::regclass) ORDER BY immv::text;
SELECT ivmx.flush('d_region') AS d_region, ivmx.flush('d_pairs') AS d_pairs;
:verify_join;
:show_join;
SELECT oid, region FROM d_pairs ORDER BY oid;
-- Deleting a customer with orders, and changing the join key of an order.
DELETE FROM customers WHERE cid = 3;
UPDATE orders SET cid = 2 WHERE oid = 12;
:verify_join;
SELECT ivmx.flush();
:verify_join;
:show_join;
-- Self-join: one change touches both occurrences of emp.
UPDATE emp SET name = 'BOB' WHERE id = 2;       -- a worker and a manager
INSERT INTO emp VALUES (5, 4, 'eve'), (6, 6, 'me');
DELETE FROM emp WHERE id = 3;
UPDATE emp SET boss = 2 WHERE id = 1;
:verify_join;
SELECT immv, pending_rows FROM status WHERE immv = 'd_reports'::regclass;
SELECT ivmx.flush('d_reports');
:verify_join;
SELECT immv, pending_rows FROM status WHERE immv = 'd_reports'::regclass;
:show_reports;
DELETE FROM emp WHERE id = 2;
:verify_join;
SELECT ivmx.flush('d_reports');
:verify_join;
:show_reports;

-- Statement forms reach the delta log like plain DML: INSERT ... ON
-- CONFLICT, a writable CTE changing both tables of a join, ON DELETE
-- CASCADE, COPY, a row trigger writing another base table, savepoints.
CREATE TABLE parent (id int PRIMARY KEY, name text);
CREATE TABLE child (id int PRIMARY KEY, pid int REFERENCES parent ON DELETE CASCADE, v int);
INSERT INTO parent VALUES (1, 'a'), (2, 'b');
INSERT INTO child VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30);
SELECT ivmx.create_immv('d_family',
    'SELECT p.name, count(*) AS n, sum(c.v) AS s FROM child c JOIN parent p ON p.id = c.pid GROUP BY p.name',
    mode => 'deferred');
SELECT ivmx.create_immv('d_child',
    'SELECT pid, count(*) AS n, sum(v) AS s, max(v) AS hi FROM child GROUP BY pid', mode => 'deferred');
\set verify_forms 'SELECT ivmx.verify_immv(''d_family'') AS d_family, ivmx.verify_immv(''d_child'') AS d_child'
INSERT INTO child VALUES (3, 2, 35), (4, 2, 40) ON CONFLICT (id) DO UPDATE SET v = excluded.v;
WITH renamed AS (UPDATE parent SET name = 'bb' WHERE id = 2 RETURNING id)
INSERT INTO child SELECT 5, id, 50 FROM renamed;
DELETE FROM parent WHERE id = 1;
COPY child FROM stdin;
6	2	60
\.
CREATE FUNCTION add_first_child() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO child VALUES (NEW.id + 100, NEW.id, 1); RETURN NEW; END $$;
CREATE TRIGGER first_child AFTER INSERT ON parent FOR EACH ROW EXECUTE FUNCTION add_first_child();
INSERT INTO parent VALUES (3, 'c');
BEGIN;
SAVEPOINT s;
INSERT INTO child VALUES (7, 3, 7);
ROLLBACK TO SAVEPOINT s;
INSERT INTO child VALUES (8, 3, 8);
COMMIT;
:verify_forms;
SELECT immv, pending_rows FROM status WHERE immv IN ('d_family'::regclass, 'd_child'::regclass) ORDER BY immv::text;
SELECT ivmx.flush('d_family') AS d_family, ivmx.flush('d_child') AS d_child;
:verify_forms;
SELECT name, n, s FROM d_family ORDER BY name;
SELECT pid, n, s, hi FROM d_child ORDER BY pid;

-- Every deferred IMMV is consistent and nothing is pending.
SELECT ivmx.flush();
SELECT immv, ivmx.verify_immv(immv) AS verify, pending_rows, state
  FROM status ORDER BY immv::text;

-- Dropping the schema drops every IMMV and base table of this file, with
-- their catalog rows and delta logs.
SET client_min_messages = warning;
DROP SCHEMA deferred_shapes CASCADE;
RESET client_min_messages;
RESET search_path;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
SELECT count(*) AS orphan_logs FROM ivmx.delta_log l
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = l.relid);
:logtables;

ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
