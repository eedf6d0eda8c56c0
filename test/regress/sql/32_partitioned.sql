CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Partitioned tables (range, list, hash; two levels; a default partition)
-- and inheritance parents as base relations, in immediate and deferred
-- mode, nested and joined, and an IMMV over a single partition. Changes
-- through the parent and straight into partitions; row movement between
-- partitions; TRUNCATE of a partition and of the parent; partitions created,
-- attached (filled, columns in another order), detached (also
-- CONCURRENTLY) and dropped; children that INHERIT and NO INHERIT; two
-- roles; what stays refused. :check compares every IMMV with its query
-- after each change.
\set schema part_views
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE sales (day int NOT NULL, shop int NOT NULL, amount numeric, note text) PARTITION BY RANGE (day);
CREATE TABLE sales_1 PARTITION OF sales FOR VALUES FROM (0) TO (10);
CREATE TABLE sales_2 PARTITION OF sales FOR VALUES FROM (10) TO (20) PARTITION BY LIST (shop);
CREATE TABLE sales_2a PARTITION OF sales_2 FOR VALUES IN (1, 2);
CREATE TABLE sales_2z PARTITION OF sales_2 DEFAULT;
CREATE TABLE shops (shop int PRIMARY KEY, city text);
INSERT INTO shops VALUES (1, 'Oslo'), (2, 'Rome'), (3, 'Lima'), (4, NULL);
INSERT INTO sales SELECT g, g % 4 + 1, g * 1.25, NULL FROM generate_series(0, 19) g;
CREATE TABLE hashed (id int, v int) PARTITION BY HASH (id);
CREATE TABLE hashed_0 PARTITION OF hashed FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE hashed_1 PARTITION OF hashed FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO hashed SELECT g, g % 3 FROM generate_series(1, 10) g;
-- An inheritance parent with a child that has one more column, and the
-- shared ones in another order.
CREATE TABLE events (id int, kind text);
CREATE TABLE events_old (extra int, kind text, id int);
ALTER TABLE events_old INHERIT events;
INSERT INTO events VALUES (1, 'a'), (2, 'b');
INSERT INTO events_old VALUES (0, 'a', 3), (0, NULL, 4);

\set q_totals 'SELECT shop, count(*) AS n, sum(amount) AS total, max(day) AS last FROM sales GROUP BY shop'
SELECT ivmx.create_immv('p_totals', :'q_totals');
SELECT ivmx.create_immv('pd_totals', :'q_totals', mode => 'deferred');
\set q_join 'SELECT s.day, s.amount, c.city FROM sales s JOIN shops c ON c.shop = s.shop WHERE s.amount > 2'
SELECT ivmx.create_immv('p_join', :'q_join');
SELECT ivmx.create_immv('pd_join', :'q_join', mode => 'deferred');
-- A single partition (a sub-partitioned one), in both modes.
SELECT ivmx.create_immv('p_part', 'SELECT day, shop, amount FROM sales_2');
SELECT ivmx.create_immv('pd_part', 'SELECT shop, count(*) AS n FROM sales_2a GROUP BY shop', mode => 'deferred');
SELECT ivmx.create_immv('p_hashed', 'SELECT v, count(*) AS n FROM hashed GROUP BY v');
SELECT ivmx.create_immv('p_events', 'SELECT DISTINCT kind FROM events');
SELECT ivmx.create_immv('pd_events', 'SELECT id, kind FROM events', mode => 'deferred');
-- Nested: over an IMMV of a partitioned table.
SELECT ivmx.create_immv('p_nested', 'SELECT count(*) AS shops, sum(total) AS total FROM p_totals');
:check;
-- Every member of each hierarchy carries the capture triggers.
SELECT tgrelid::regclass::text AS captured, count(*) AS triggers FROM pg_trigger
 WHERE tgname LIKE 'ivmx_capture%' AND tgrelid::regclass::text NOT IN ('shops') GROUP BY 1 ORDER BY 1;

-- Through the parent, and straight into partitions at either level.
INSERT INTO sales VALUES (5, 1, 10, 'x'), (15, 2, 20, 'x'), (16, 3, 30, 'x');
:check;
INSERT INTO sales_2z VALUES (17, 4, 40, 'z');
INSERT INTO sales_2 VALUES (18, 1, 50, 'y');
INSERT INTO sales_1 VALUES (9, 2, 5, 'y');
:check;
:flush;
:check;
-- Row movement: between leaf partitions, and between the two levels.
UPDATE sales SET day = 19 - day WHERE note = 'x';
:check;
UPDATE sales SET shop = 9 WHERE day = 18;
UPDATE sales_2 SET shop = 1 WHERE shop = 3;
:check;
UPDATE sales SET day = 1 WHERE day = 14;
:check;
:flush;
:check;
UPDATE sales_2a SET amount = amount * 2;
DELETE FROM sales_2z WHERE shop = 4;
DELETE FROM sales WHERE day < 3;
:check;
:flush;
:check;
UPDATE hashed SET id = id + 1;
DELETE FROM hashed_0 WHERE v = 0;
INSERT INTO hashed_1 SELECT g, 7 FROM generate_series(100, 120) g WHERE satisfies_hash_partition('hashed'::regclass, 2, 1, g);
:check;
-- The inheritance child's rows: through the parent and on their own.
UPDATE events SET kind = 'c' WHERE id IN (2, 3);
INSERT INTO events_old VALUES (9, 'd', 5);
DELETE FROM events_old WHERE kind IS NULL;
:check;
:flush;
:check;
-- A transaction writing several members, partly cancelling.
BEGIN;
INSERT INTO sales_1 VALUES (4, 3, 100, 't');
UPDATE sales SET amount = 0 WHERE note = 't';
INSERT INTO sales_2a VALUES (11, 1, 7, 't');
DELETE FROM sales_1 WHERE note = 't';
UPDATE shops SET city = 'Bern' WHERE shop = 1;
COMMIT;
:check;
:flush;
:check;
-- TRUNCATE of a partition, of a sub-partitioned partition, of the parent.
TRUNCATE sales_2z;
:check;
TRUNCATE sales_2;
:check;
INSERT INTO sales SELECT g, g % 4 + 1, g, 'r' FROM generate_series(0, 19) g;
:flush;
:check;
TRUNCATE sales;
:check;
INSERT INTO sales SELECT g, g % 4 + 1, g, 'r' FROM generate_series(0, 19) g;
TRUNCATE events;
:check;
:flush;
:check;

-- A partition created later is captured without anything to do.
CREATE TABLE sales_3 PARTITION OF sales FOR VALUES FROM (20) TO (30);
INSERT INTO sales_3 VALUES (21, 1, 1000, 'n'), (22, 3, 2000, 'n');
INSERT INTO sales VALUES (23, 2, 3000, 'n');
:check;
:flush;
:check;
-- A filled table attached: its rows appear. Its columns in another order.
CREATE TABLE sales_4 (note text, amount numeric, shop int NOT NULL, day int NOT NULL);
INSERT INTO sales_4 VALUES ('a', 1, 1, 30), ('a', 2, 2, 31), ('a', 3, 4, 32);
ALTER TABLE sales ATTACH PARTITION sales_4 FOR VALUES FROM (30) TO (40);
:check;
UPDATE sales_4 SET amount = amount + 100;
UPDATE sales SET day = day + 1 WHERE day IN (30, 22);
:check;
:flush;
:check;
-- Detached: its rows vanish, and its writes no longer count.
ALTER TABLE sales DETACH PARTITION sales_3;
:check;
INSERT INTO sales_3 VALUES (25, 1, 1, 'gone');
:check;
ALTER TABLE sales DETACH PARTITION sales_4 CONCURRENTLY;
:check;
:flush;
:check;
-- Dropped: its rows vanish.
ALTER TABLE sales ATTACH PARTITION sales_4 FOR VALUES FROM (30) TO (40);
:check;
DROP TABLE sales_4;
:check;
:flush;
:check;
SELECT tgrelid::regclass::text AS captured, count(*) AS triggers FROM pg_trigger
 WHERE tgname LIKE 'ivmx_capture%' AND tgrelid::regclass::text LIKE 'sales%' GROUP BY 1 ORDER BY 1;
-- A table joining and leaving an inheritance parent.
CREATE TABLE events_new (id int, kind text);
INSERT INTO events_new VALUES (10, 'n'), (11, NULL);
ALTER TABLE events_new INHERIT events;
:check;
INSERT INTO events_new VALUES (12, 'm');
:check;
:flush;
:check;
ALTER TABLE events_new NO INHERIT events;
:check;
CREATE TABLE events_more (id int, kind text) INHERITS (events);
INSERT INTO events_more VALUES (20, 'q');
:check;
:flush;
:check;
SELECT kind FROM p_events ORDER BY kind;
-- Savepoints: an attach rolled back takes its rows with it.
BEGIN;
CREATE TABLE sales_5 (day int NOT NULL, shop int NOT NULL, amount numeric, note text);
INSERT INTO sales_5 VALUES (41, 1, 1, 's');
SAVEPOINT s;
ALTER TABLE sales ATTACH PARTITION sales_5 FOR VALUES FROM (40) TO (50);
ROLLBACK TO s;
INSERT INTO sales VALUES (3, 3, 3, 's');
COMMIT;
:check;
:flush;
:check;
SELECT shop, n, total, last FROM p_totals ORDER BY shop;

-- Refused: ONLY, an inheritance child, IMMVs in hierarchies.
SELECT ivmx.create_immv('rej', 'SELECT day FROM ONLY sales');
SELECT ivmx.create_immv('rej', 'SELECT id FROM events_old');
CREATE TABLE under_immv () INHERITS (p_join);
CREATE TABLE p_like (LIKE p_part);
ALTER TABLE p_like INHERIT p_part;
ALTER TABLE p_part INHERIT events;
SELECT count(*) AS leftovers FROM pg_class WHERE relname IN ('rej', 'under_immv');

-- Two roles: the table's owner grants a reader SELECT and TRIGGER on one
-- partition only. The reader's IMMV over the partition is maintained from
-- the owner's writes through the parent; the parent stays out of its reach.
CREATE ROLE part_owner;
CREATE ROLE part_reader;
GRANT USAGE, CREATE ON SCHEMA part_views TO part_owner, part_reader;
SET ROLE part_owner;
CREATE TABLE ledger (k int NOT NULL, secret text) PARTITION BY LIST (k);
CREATE TABLE ledger_pub PARTITION OF ledger FOR VALUES IN (1);
CREATE TABLE ledger_priv PARTITION OF ledger FOR VALUES IN (2);
INSERT INTO ledger VALUES (1, 'public'), (2, 'private');
GRANT SELECT, TRIGGER ON ledger_pub TO part_reader;
SET ROLE part_reader;
SELECT ivmx.create_immv('ledger_all', 'SELECT k, secret FROM ledger');
SELECT ivmx.create_immv('ledger_mine', 'SELECT k, secret FROM ledger_pub');
SET ROLE part_owner;
INSERT INTO ledger VALUES (1, 'public 2'), (2, 'private 2');
UPDATE ledger SET k = 3 - k WHERE secret = 'public';
SET ROLE part_reader;
SELECT k, secret FROM ledger_mine ORDER BY secret;
SELECT ivmx.verify_immv('ledger_mine');
SELECT secret FROM ledger;
RESET ROLE;
SELECT ivmx.verify_immv('ledger_mine');
DROP TABLE ledger_mine;
DROP TABLE ledger;
DROP OWNED BY part_owner, part_reader;
DROP ROLE part_owner;
DROP ROLE part_reader;
:check;

DROP SCHEMA part_views CASCADE;
SELECT count(*) AS capture_triggers_left FROM pg_trigger WHERE tgfoid = 'ivmx.capture_trigger'::regproc
   AND tgrelid::regclass::text LIKE '%sales%';
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
