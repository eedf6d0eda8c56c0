CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Immediate maintenance in the scope of the transaction. Inside a
-- transaction block (BEGIN ... COMMIT), and inside functions, procedures and
-- DO blocks, a writing statement records its changes; they are netted per
-- IMMV and applied once, just before COMMIT (or PREPARE TRANSACTION). A
-- query that reads an IMMV with changes pending in its transaction (directly,
-- through a view, a function, a prepared statement or a subquery of a DML
-- statement) applies them first, and so do the ivmx functions acting on
-- IMMVs (refresh_immv, set_mode, flush, verify_immv, create_immv): nothing is
-- applied twice. ROLLBACK TO SAVEPOINT drops the changes rolled back,
-- ROLLBACK drops everything, and a maintenance error surfaces at the latest
-- at COMMIT. A single statement in autocommit is applied at its end.
-- :verify lists the immediate IMMVs of this file's schema that differ from
-- their query (none: an empty string) and how many were checked. Inside a
-- block the IMMVs are first read with plain SELECTs (the read path), then
-- checked. The scheduler is switched off for this file: only ivmx.flush
-- applies deferred changes.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT current_user AS admin \gset

\set verify 'SELECT coalesce(string_agg(immvrelid::text, '','' ORDER BY immvrelid::text) FILTER (WHERE diff <> 0), '''') AS wrong, count(*) AS checked FROM (SELECT immvrelid, ivmx.verify_immv(immvrelid) AS diff FROM ivmx.immv JOIN pg_class ON pg_class.oid = immvrelid WHERE relnamespace = ''txn_scope''::regnamespace AND mode = ''immediate'' AND populated) AS v'
\set show_groups 'SELECT g.bid, g.n, g.total, round(g.mean, 2) AS mean, m.lo, m.hi FROM g_sum g JOIN g_minmax m USING (bid) ORDER BY bid'
\set show_regions 'SELECT region, n, total FROM n_region ORDER BY region'
\set show_rows 'SELECT id, bid, region FROM j_outer ORDER BY id, bid'
\set show_flags 'SELECT (SELECT string_agg(id::text, '','' ORDER BY id) FROM e_flag) AS flagged, (SELECT string_agg(id::text, '','' ORDER BY id) FROM e_noflag) AS unflagged, (SELECT string_agg(coalesce(tag, ''-''), '','' ORDER BY tag) FROM d_tags) AS tags'
-- The same comparison as verify_immv, written as plain reads of two IMMVs.
\set plain_check 'SELECT (SELECT count(*) FROM ((SELECT bid, n, total FROM g_sum EXCEPT ALL SELECT bid, count(*), sum(bal) FROM acct GROUP BY bid) UNION ALL (SELECT bid, count(*), sum(bal) FROM acct GROUP BY bid EXCEPT ALL SELECT bid, n, total FROM g_sum)) d) AS g_sum_diff, (SELECT count(*) FROM ((SELECT id, region, bal FROM j_inner EXCEPT ALL SELECT a.id, b.region, a.bal FROM acct a JOIN branch b ON b.bid = a.bid) UNION ALL (SELECT a.id, b.region, a.bal FROM acct a JOIN branch b ON b.bid = a.bid EXCEPT ALL SELECT id, region, bal FROM j_inner)) d) AS j_inner_diff'

CREATE SCHEMA txn_scope;
SET search_path = txn_scope, public;
CREATE TABLE branch (bid int PRIMARY KEY, region text NOT NULL);
CREATE TABLE acct (id int PRIMARY KEY, bid int NOT NULL, bal int NOT NULL, tag text);
CREATE TABLE audit (aid int NOT NULL, note text);
INSERT INTO branch VALUES (1, 'north'), (2, 'south'), (3, 'east');
INSERT INTO acct VALUES (1, 1, 100, 'a'), (2, 1, 200, 'b'), (3, 2, 300, 'a'),
                        (4, 2, 50, NULL), (5, 4, 10, 'c');
INSERT INTO audit VALUES (1, 'x'), (3, 'y'), (3, 'z');

-- Every shape: grouped count/sum/avg, min/max, DISTINCT, projections with
-- and without the key, inner and outer join, EXISTS and NOT EXISTS, and an
-- IMMV over an IMMV (joined with a table).
SELECT ivmx.create_immv('g_sum', 'SELECT bid, count(*) AS n, sum(bal) AS total, avg(bal) AS mean FROM acct GROUP BY bid');
SELECT ivmx.create_immv('g_minmax', 'SELECT bid, min(bal) AS lo, max(bal) AS hi FROM acct GROUP BY bid');
SELECT ivmx.create_immv('d_tags', 'SELECT DISTINCT tag FROM acct');
SELECT ivmx.create_immv('b_key', 'SELECT id, bal FROM acct WHERE bal >= 100');
SELECT ivmx.create_immv('b_nokey', 'SELECT bid, bal FROM acct');
SELECT ivmx.create_immv('j_inner', 'SELECT a.id, b.region, a.bal FROM acct a JOIN branch b ON b.bid = a.bid');
SELECT ivmx.create_immv('j_outer', 'SELECT a.id, b.bid, b.region FROM acct a FULL JOIN branch b ON b.bid = a.bid');
SELECT ivmx.create_immv('e_flag', 'SELECT a.id, a.bal FROM acct a WHERE EXISTS (SELECT 1 FROM audit x WHERE x.aid = a.id)');
SELECT ivmx.create_immv('e_noflag', 'SELECT a.id FROM acct a WHERE NOT EXISTS (SELECT 1 FROM audit x WHERE x.aid = a.id)');
SELECT ivmx.create_immv('n_region', 'SELECT b.region, sum(g.n) AS n, sum(g.total) AS total FROM g_sum g JOIN branch b ON b.bid = g.bid GROUP BY b.region');
:verify;
:show_groups;

-- 1. A block writing the three tables with several statements. Reads inside
-- it see its changes; COMMIT applies them.
BEGIN;
INSERT INTO acct VALUES (6, 3, 600, 'd'), (7, 1, 70, 'a');
UPDATE acct SET bal = bal + 5 WHERE bid = 2;
UPDATE branch SET region = 'west' WHERE bid = 3;
INSERT INTO branch VALUES (4, 'far');
DELETE FROM audit WHERE aid = 1;
INSERT INTO audit VALUES (6, 'new'), (7, 'new');
DELETE FROM acct WHERE id = 2;
:show_groups;
:show_regions;
:show_rows;
:show_flags;
:plain_check;
:verify;
COMMIT;
:verify;
:show_groups;
:show_regions;

-- 2. The same rows written several times in one block: a row inserted,
-- updated, given another key and another group, and deleted again; an update
-- undone by the next one; upserts, MERGE and COPY.
BEGIN;
INSERT INTO acct VALUES (8, 2, 80, 'e');
UPDATE acct SET bal = bal * 2 WHERE id = 8;
UPDATE acct SET id = 9 WHERE id = 8;
UPDATE acct SET bid = 3 WHERE id = 9;
DELETE FROM acct WHERE id = 9;
UPDATE acct SET bal = bal + 1 WHERE id = 1;
UPDATE acct SET bal = bal - 1 WHERE id = 1;
UPDATE acct SET tag = 'z' WHERE id = 3;
UPDATE acct SET bal = 1 WHERE id = 6;
INSERT INTO acct VALUES (10, 2, 55, 'a'), (3, 2, 999, 'a')
    ON CONFLICT (id) DO UPDATE SET bal = excluded.bal;
MERGE INTO acct USING (VALUES (1, 5), (11, 7)) AS v(id, d) ON acct.id = v.id
    WHEN MATCHED THEN UPDATE SET bal = acct.bal + v.d
    WHEN NOT MATCHED THEN INSERT VALUES (v.id, 1, v.d, 'm');
COPY acct FROM stdin;
12	3	120	f
13	4	130	\N
\.
:show_groups;
:show_flags;
COMMIT;
:verify;
:show_groups;
:show_rows;

-- 3. ROLLBACK drops everything, also what a read in the block applied; a
-- failed statement aborts the block, whose COMMIT then rolls back.
BEGIN;
DELETE FROM acct WHERE bid = 1;
UPDATE branch SET region = 'gone';
INSERT INTO audit VALUES (4, 'w');
:show_regions;
ROLLBACK;
:verify;
:show_regions;
BEGIN;
INSERT INTO acct VALUES (14, 1, 140, 'g');
INSERT INTO acct VALUES (1, 1, 1, 'dup');
COMMIT;
:verify;
SELECT count(*) AS acct_14 FROM acct WHERE id = 14;

-- 4. Reading through a view, SQL and PL/pgSQL functions, a prepared
-- statement with a generic plan, subqueries of DML statements (one of them
-- updating the table the IMMV it reads is over), a cursor and COPY TO.
CREATE VIEW v_totals AS SELECT bid, total FROM g_sum;
CREATE FUNCTION total_of(int) RETURNS bigint LANGUAGE sql STABLE
    AS 'SELECT total FROM g_sum WHERE bid = $1';
CREATE FUNCTION region_rows() RETURNS TABLE (region text, n numeric, total numeric)
    LANGUAGE sql STABLE AS 'SELECT region, n, total FROM n_region';
CREATE FUNCTION flagged_count() RETURNS bigint LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN (SELECT count(*) FROM e_flag); END $$;
CREATE TABLE snap (bid int, total bigint);
SET plan_cache_mode = force_generic_plan;
PREPARE total_q(int) AS SELECT total FROM g_sum WHERE bid = $1;
BEGIN;
UPDATE acct SET bal = bal + 1000 WHERE id = 1;
SELECT bid, total FROM v_totals WHERE bid = 1;
UPDATE acct SET bal = bal + 1000 WHERE id = 1;
SELECT total_of(1);
UPDATE acct SET bal = bal + 1000 WHERE id = 1;
EXECUTE total_q(1);
INSERT INTO acct VALUES (15, 3, 150, 'h');
SELECT region, n, total FROM region_rows() ORDER BY region;
INSERT INTO audit VALUES (4, 'w'), (15, 'w');
SELECT flagged_count();
INSERT INTO snap SELECT bid, total FROM g_sum WHERE bid IN (1, 3);
UPDATE acct SET bal = (SELECT total FROM g_sum WHERE bid = 2) WHERE id = 4;
SELECT bid, total FROM snap ORDER BY bid;
SELECT bal FROM acct WHERE id = 4;
EXECUTE total_q(2);
UPDATE acct SET bal = bal + 1 WHERE id = 15;
DECLARE c CURSOR FOR SELECT bid, total FROM g_sum ORDER BY bid;
FETCH ALL FROM c;
CLOSE c;
UPDATE acct SET bal = bal + 1 WHERE id = 15;
COPY (SELECT bid, total FROM g_sum WHERE bid = 3) TO stdout;
COMMIT;
DEALLOCATE total_q;
RESET plan_cache_mode;
:verify;
:show_groups;

-- 5. Savepoints: rolled back, released, nested.
BEGIN;
UPDATE acct SET bal = bal + 1 WHERE id = 1;
SAVEPOINT s1;
DELETE FROM acct WHERE bid = 1;
UPDATE branch SET region = 'nowhere' WHERE bid = 2;
:show_regions;
ROLLBACK TO SAVEPOINT s1;
:show_regions;
SAVEPOINT s2;
INSERT INTO acct VALUES (20, 3, 20, 'i');
RELEASE SAVEPOINT s2;
SAVEPOINT s3;
INSERT INTO audit VALUES (20, 'i');
SAVEPOINT s4;
UPDATE acct SET bid = 2 WHERE id = 20;
ROLLBACK TO SAVEPOINT s4;
RELEASE SAVEPOINT s3;
COMMIT;
:verify;
:show_groups;
:show_flags;
-- A change made before a savepoint and applied by a read inside it is
-- pending again once the savepoint is rolled back; a read inside a savepoint
-- that is released keeps what it applied.
BEGIN;
INSERT INTO acct VALUES (21, 1, 21, 'j');
SAVEPOINT s;
INSERT INTO acct VALUES (22, 1, 22, 'j');
SELECT bid, n, total FROM g_sum WHERE bid = 1;
ROLLBACK TO SAVEPOINT s;
SELECT bid, n, total FROM g_sum WHERE bid = 1;
SAVEPOINT t;
UPDATE acct SET bal = bal + 2 WHERE id = 21;
SELECT bid, n, total FROM g_sum WHERE bid = 1;
RELEASE SAVEPOINT t;
UPDATE acct SET tag = 'k' WHERE id = 21;
COMMIT;
:verify;
SELECT bid, n, total FROM g_sum WHERE bid = 1;
:show_flags;

-- 6. A DO block: its reads see its changes, and an exception block's undone
-- changes are dropped.
DO $$
DECLARE
    t bigint;
BEGIN
    INSERT INTO acct VALUES (30, 1, 300, 'l');
    UPDATE branch SET region = 'north2' WHERE bid = 1;
    SELECT total INTO t FROM g_sum WHERE bid = 1;
    RAISE NOTICE 'total of branch 1 in the DO block: %', t;
    BEGIN
        DELETE FROM acct WHERE id = 30;
        SELECT total INTO t FROM g_sum WHERE bid = 1;
        RAISE NOTICE 'after the delete: %', t;
        RAISE EXCEPTION 'undo the delete';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    SELECT total INTO t FROM g_sum WHERE bid = 1;
    RAISE NOTICE 'after the delete was undone: %', t;
END $$;
:verify;
:show_regions;
-- A procedure committing and rolling back in the middle.
CREATE PROCEDURE in_steps() LANGUAGE plpgsql AS $$
DECLARE
    t bigint;
BEGIN
    INSERT INTO acct VALUES (31, 2, 310, 'm');
    COMMIT;
    INSERT INTO acct VALUES (32, 2, 320, 'm');
    UPDATE acct SET bal = bal + 1 WHERE id = 31;
    SELECT total INTO t FROM g_sum WHERE bid = 2;
    RAISE NOTICE 'total of branch 2 before the rollback: %', t;
    ROLLBACK;
    SELECT total INTO t FROM g_sum WHERE bid = 2;
    RAISE NOTICE 'after the rollback: %', t;
    UPDATE acct SET bal = bal + 2 WHERE id = 31;
    INSERT INTO audit VALUES (31, 'p');
END $$;
CALL in_steps();
:verify;
SELECT id, bal FROM acct WHERE id IN (31, 32) ORDER BY id;
:show_flags;
-- Functions writing tables, called in autocommit: once, several times in
-- one statement (each call reads the IMMV after the calls before it), and a
-- SQL function writing two tables.
CREATE FUNCTION transfer(src int, dst int, amount int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    UPDATE acct SET bal = bal - amount WHERE id = src;
    UPDATE acct SET bal = bal + amount WHERE id = dst;
    INSERT INTO audit VALUES (src, 'transfer');
    RETURN (SELECT total FROM g_sum WHERE bid = (SELECT bid FROM acct WHERE id = src));
END $$;
SELECT transfer(1, 3, 10);
:verify;
SELECT id, transfer(id, 6, 1) FROM (SELECT id FROM acct WHERE bid = 1 ORDER BY id OFFSET 0) s ORDER BY id;
:verify;
:show_groups;
CREATE FUNCTION add_acct(int, int, int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO acct VALUES ($1, $2, $3, 'sql');
    UPDATE branch SET region = upper(region) WHERE bid = $2;
$$;
SELECT add_acct(40, 3, 40);
:verify;
:show_regions;
-- A row trigger writing another table, and a deferred constraint trigger
-- that writes at COMMIT, after the block's last statement.
CREATE FUNCTION note_acct() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit VALUES (NEW.id, TG_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER big_acct AFTER INSERT OR UPDATE ON acct
    FOR EACH ROW WHEN (NEW.bal >= 5000) EXECUTE FUNCTION note_acct();
CREATE CONSTRAINT TRIGGER late_note AFTER INSERT ON acct DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.tag = 'late') EXECUTE FUNCTION note_acct();
BEGIN;
INSERT INTO acct VALUES (41, 3, 5000, 'n'), (42, 3, 42, 'late');
UPDATE acct SET bal = 6000 WHERE id = 6;
:show_flags;
COMMIT;
:verify;
:show_flags;
INSERT INTO acct VALUES (43, 3, 43, 'late');
:verify;
:show_flags;
DROP TRIGGER big_acct ON acct;
DROP TRIGGER late_note ON acct;

-- 7. ivmx functions inside a block after writes. refresh_immv recomputes;
-- the changes pending before it are not applied again, the ones after it
-- are applied at COMMIT (also to the IMMV over it).
BEGIN;
UPDATE acct SET bal = bal + 3 WHERE bid = 2;
SELECT ivmx.refresh_immv('g_sum', true);
UPDATE acct SET bal = bal + 4 WHERE bid = 2;
INSERT INTO acct VALUES (44, 2, 44, 'o');
:show_regions;
COMMIT;
:verify;
:show_groups;
-- refresh_immv without data: nothing pending is applied to the empty IMMV.
BEGIN;
UPDATE acct SET bal = bal + 1 WHERE id = 3;
SELECT ivmx.refresh_immv('b_nokey', false);
UPDATE acct SET bal = bal + 1 WHERE id = 3;
COMMIT;
SELECT populated FROM ivmx.immv WHERE immvrelid = 'b_nokey'::regclass;
SELECT count(*) AS b_nokey_rows FROM b_nokey;
SELECT ivmx.refresh_immv('b_nokey', true) > 0 AS refreshed;
:verify;
-- set_mode to deferred after writes: they are applied first, later ones
-- are logged; and back to immediate with logged changes of this and earlier
-- transactions.
BEGIN;
UPDATE acct SET bal = bal + 5 WHERE id = 1;
SELECT ivmx.set_mode('g_minmax', 'deferred');
UPDATE acct SET bal = bal + 6 WHERE id = 1;
SELECT ivmx.flush('g_minmax') > 0 AS flushed;
SELECT ivmx.verify_immv('g_minmax') AS g_minmax;
COMMIT;
SELECT ivmx.verify_immv('g_minmax') AS g_minmax;
:verify;
UPDATE acct SET bal = 7 WHERE id = 1;
:verify;
BEGIN;
UPDATE acct SET bal = 8 WHERE id = 3;
SELECT ivmx.set_mode('g_minmax', 'immediate');
UPDATE acct SET bal = 9 WHERE id = 4;
SELECT bid, lo, hi FROM g_minmax ORDER BY bid;
COMMIT;
:verify;
-- flush of a deferred IMMV over an immediate one with pending changes:
-- they are applied (and logged for the deferred one) first. Branch 1's
-- total goes above the filter's bound and back.
SELECT ivmx.create_immv('d_top', 'SELECT bid, total FROM g_sum WHERE total >= 500', mode => 'deferred');
BEGIN;
UPDATE acct SET bal = bal + 500 WHERE id = 11;
SELECT ivmx.flush('d_top') > 0 AS flushed;
SELECT ivmx.verify_immv('d_top') AS d_top;
SELECT bid, total FROM d_top ORDER BY bid;
UPDATE acct SET bal = bal - 500 WHERE id = 11;
COMMIT;
SELECT ivmx.flush('d_top') > 0 AS flushed;
SELECT ivmx.verify_immv('d_top') AS d_top;
SELECT bid, total FROM d_top ORDER BY bid;
:verify;
DROP TABLE d_top;
-- create_immv after writes to its table, and over an IMMV with pending
-- changes: created from the block's state, and not given those changes
-- again at COMMIT.
BEGIN;
INSERT INTO acct VALUES (50, 1, 500, 'q');
UPDATE acct SET bal = bal + 1 WHERE bid = 1;
SELECT ivmx.create_immv('late_cnt', 'SELECT bid, count(*) AS n, sum(bal) AS total FROM acct GROUP BY bid');
SELECT ivmx.create_immv('late_nested', 'SELECT bid, n, total FROM g_sum WHERE n >= 2');
DELETE FROM acct WHERE id = 50;
UPDATE acct SET bal = bal + 1 WHERE bid = 1;
SELECT ivmx.verify_immv('late_cnt') AS late_cnt, ivmx.verify_immv('late_nested') AS late_nested;
COMMIT;
:verify;
SELECT bid, n, total FROM late_nested ORDER BY bid;
-- IMMVs dropped while changes are pending for them.
BEGIN;
UPDATE acct SET bal = bal + 1 WHERE bid = 1;
DROP TABLE late_nested;
DROP TABLE late_cnt;
UPDATE acct SET bal = bal + 1 WHERE bid = 1;
COMMIT;
:verify;
-- TRUNCATE after writes: of the EXISTS subquery's table, and of the table
-- most IMMVs read (with a pending change of the other table of the joins).
BEGIN;
UPDATE branch SET region = region || '!' WHERE bid = 1;
INSERT INTO audit VALUES (3, 'r');
TRUNCATE audit;
INSERT INTO audit VALUES (1, 'again');
UPDATE acct SET bal = bal + 1 WHERE id = 1;
:show_flags;
COMMIT;
:verify;
:show_flags;
BEGIN;
INSERT INTO acct VALUES (60, 2, 60, 's');
UPDATE branch SET region = 'mid' WHERE bid = 2;
TRUNCATE acct;
INSERT INTO acct VALUES (1, 1, 1, 'a'), (2, 2, 2, 'b'), (3, 9, 3, NULL);
:show_groups;
:show_rows;
COMMIT;
:verify;
:show_regions;
:show_flags;

-- 8. PREPARE TRANSACTION applies the pending changes before preparing.
BEGIN;
UPDATE acct SET bal = bal + 9 WHERE id = 1;
INSERT INTO branch VALUES (9, 'isle');
INSERT INTO acct VALUES (4, 9, 90, 'u');
PREPARE TRANSACTION 'regress_ivmx_txn_scope';
COMMIT PREPARED 'regress_ivmx_txn_scope';
:verify;
:show_regions;
BEGIN;
DELETE FROM acct WHERE id = 1;
PREPARE TRANSACTION 'regress_ivmx_txn_scope';
ROLLBACK PREPARED 'regress_ivmx_txn_scope';
:verify;
:show_groups;

-- 9. Maintenance errors: an IMMV computing 100 / x fails for x = 0. In
-- autocommit at the statement; in a block at COMMIT (the statements after
-- the bad one run), or earlier at a read of the IMMV; never for a change
-- rolled back to a savepoint. The tables and IMMVs are unchanged after.
CREATE TABLE dz (id int PRIMARY KEY, x int NOT NULL);
INSERT INTO dz VALUES (1, 5), (2, 10);
SELECT ivmx.create_immv('dz_q', 'SELECT id, 100 / x AS q FROM dz');
SELECT ivmx.create_immv('dz_all', 'SELECT count(*) AS n, sum(x) AS s FROM dz');
\set show_dz 'SELECT (SELECT string_agg(id || '':'' || x, '' '' ORDER BY id) FROM dz) AS dz, (SELECT string_agg(id || '':'' || q, '' '' ORDER BY id) FROM dz_q) AS dz_q, (SELECT n || '':'' || s FROM dz_all) AS dz_all'
\set VERBOSITY terse
INSERT INTO dz VALUES (3, 0);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
:show_dz;
BEGIN;
INSERT INTO dz VALUES (3, 0);
UPDATE dz SET x = x + 1 WHERE id = 1;
SELECT count(*) AS dz_rows FROM dz;
COMMIT;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
:show_dz;
:verify;
BEGIN;
UPDATE dz SET x = 0 WHERE id = 2;
SELECT id, q FROM dz_q ORDER BY id;
ROLLBACK;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
:show_dz;
BEGIN;
INSERT INTO dz VALUES (3, 4);
SAVEPOINT s;
INSERT INTO dz VALUES (4, 0);
UPDATE dz SET x = 0 WHERE id = 1;
ROLLBACK TO SAVEPOINT s;
COMMIT;
:show_dz;
:verify;
-- In a DO block the failing statement does not fail: the error comes when
-- the DO block's transaction commits, outside its exception handler.
DO $$
BEGIN
    INSERT INTO dz VALUES (5, 0);
EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'caught in the DO block';
END $$;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
:show_dz;
-- A function called in autocommit.
CREATE FUNCTION dz_put(int, int) RETURNS int LANGUAGE sql
    AS 'INSERT INTO dz VALUES ($1, $2) RETURNING id';
SELECT dz_put(6, 0);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
:show_dz;
-- A procedure committing in steps: what it committed before the failing
-- COMMIT stays.
CREATE PROCEDURE dz_steps() LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dz VALUES (10, 10);
    COMMIT;
    INSERT INTO dz VALUES (11, 0);
    COMMIT;
    INSERT INTO dz VALUES (12, 20);
END $$;
CALL dz_steps();
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
:show_dz;
-- At PREPARE TRANSACTION: nothing is prepared.
BEGIN;
INSERT INTO dz VALUES (13, 0);
PREPARE TRANSACTION 'regress_ivmx_txn_dz';
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS prepared FROM pg_prepared_xacts WHERE gid = 'regress_ivmx_txn_dz';
\set VERBOSITY default
:show_dz;
:verify;

-- 10. Two roles. alice's IMMVs read bob's table (alice has SELECT and
-- TRIGGER on it), joined with alice's own table and through a function
-- only alice may execute; bob has his own IMMV over the table. Bob's COMMIT
-- applies alice's IMMVs as alice; bob cannot read them until granted, but
-- a SECURITY DEFINER function of alice's shows him his own pending change.
DROP ROLE IF EXISTS regress_ivmx_txn_alice;
DROP ROLE IF EXISTS regress_ivmx_txn_bob;
CREATE ROLE regress_ivmx_txn_alice LOGIN;
CREATE ROLE regress_ivmx_txn_bob LOGIN;
CREATE SCHEMA txn_alice AUTHORIZATION regress_ivmx_txn_alice;
CREATE SCHEMA txn_bob AUTHORIZATION regress_ivmx_txn_bob;
GRANT USAGE ON SCHEMA txn_bob TO regress_ivmx_txn_alice;
\set verify_roles 'SELECT ivmx.verify_immv(''txn_alice.per_cust'') AS per_cust, ivmx.verify_immv(''txn_alice.order_rows'') AS order_rows'

\c - regress_ivmx_txn_bob
CREATE TABLE txn_bob.orders (id int PRIMARY KEY, cust int NOT NULL, amount int NOT NULL);
INSERT INTO txn_bob.orders VALUES (1, 1, 100), (2, 1, 50), (3, 2, 70);
GRANT SELECT, TRIGGER ON txn_bob.orders TO regress_ivmx_txn_alice;
SELECT ivmx.create_immv('txn_bob.big_orders', 'SELECT id, amount FROM txn_bob.orders WHERE amount >= 100');

\c - regress_ivmx_txn_alice
CREATE TABLE txn_alice.cust (cust int PRIMARY KEY, name text NOT NULL);
INSERT INTO txn_alice.cust VALUES (1, 'acme'), (2, 'bolt'), (3, 'core');
CREATE FUNCTION txn_alice.with_tax(int) RETURNS int LANGUAGE sql IMMUTABLE
    AS 'SELECT $1 * 11 / 10';
REVOKE EXECUTE ON FUNCTION txn_alice.with_tax(int) FROM PUBLIC;
SELECT ivmx.create_immv('txn_alice.per_cust',
    'SELECT c.name, count(*) AS n, sum(txn_alice.with_tax(o.amount)) AS gross
       FROM txn_bob.orders o JOIN txn_alice.cust c ON c.cust = o.cust GROUP BY c.name');
SELECT ivmx.create_immv('txn_alice.order_rows', 'SELECT id, cust, amount FROM txn_bob.orders');
:verify_roles;

\c - regress_ivmx_txn_bob
BEGIN;
INSERT INTO txn_bob.orders VALUES (4, 2, 200), (5, 3, 30);
UPDATE txn_bob.orders SET amount = amount + 10 WHERE id = 1;
DELETE FROM txn_bob.orders WHERE id = 2;
SELECT id, amount FROM txn_bob.big_orders ORDER BY id;
SAVEPOINT before_read;
SELECT name, n, gross FROM txn_alice.per_cust;
ROLLBACK TO SAVEPOINT before_read;
COMMIT;
SELECT ivmx.verify_immv('txn_bob.big_orders') AS big_orders;

\c - regress_ivmx_txn_alice
:verify_roles;
SELECT name, n, gross FROM txn_alice.per_cust ORDER BY name;
GRANT USAGE ON SCHEMA txn_alice TO regress_ivmx_txn_bob;
CREATE FUNCTION txn_alice.gross_of(text) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog
    AS 'SELECT gross FROM txn_alice.per_cust WHERE name = $1';
REVOKE EXECUTE ON FUNCTION txn_alice.gross_of(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION txn_alice.gross_of(text) TO regress_ivmx_txn_bob;

\c - regress_ivmx_txn_bob
CREATE FUNCTION txn_bob.rows_of(int) RETURNS bigint LANGUAGE sql STABLE
    AS 'SELECT count(*) FROM txn_alice.order_rows WHERE cust = $1';
-- bob may neither call alice's function nor read her table or IMMVs.
SELECT txn_alice.with_tax(100);
SELECT name FROM txn_alice.cust;
BEGIN;
UPDATE txn_bob.orders SET amount = amount * 2 WHERE cust = 2;
SELECT txn_alice.gross_of('bolt') AS bolt_gross;
SAVEPOINT s;
SELECT txn_bob.rows_of(2);
ROLLBACK TO SAVEPOINT s;
SAVEPOINT s2;
SELECT name, n, gross FROM txn_alice.per_cust;
ROLLBACK TO SAVEPOINT s2;
COMMIT;

\c - regress_ivmx_txn_alice
:verify_roles;
SELECT name, n, gross FROM txn_alice.per_cust ORDER BY name;
GRANT SELECT ON txn_alice.order_rows TO regress_ivmx_txn_bob;

\c - regress_ivmx_txn_bob
BEGIN;
INSERT INTO txn_bob.orders VALUES (6, 2, 5);
SELECT txn_bob.rows_of(2) AS bolt_rows;
DELETE FROM txn_bob.orders WHERE cust = 2 AND amount > 100;
SELECT txn_bob.rows_of(2) AS bolt_rows;
COMMIT;
SELECT txn_bob.rows_of(2) AS bolt_rows;
SELECT ivmx.verify_immv('txn_bob.big_orders') AS big_orders;

\c - regress_ivmx_txn_alice
:verify_roles;
SELECT name, n, gross FROM txn_alice.per_cust ORDER BY name;

\c - :admin
SET search_path = txn_scope, public;

-- 11. Netting: a row that would fail, changed again before COMMIT so that
-- its failing value never remains, does not reach the IMMV.
BEGIN;
INSERT INTO dz VALUES (20, 0);
UPDATE dz SET x = 4 WHERE id = 20;
INSERT INTO dz VALUES (21, 0);
DELETE FROM dz WHERE id = 21;
UPDATE dz SET x = 0 WHERE id = 1;
UPDATE dz SET x = 5 WHERE id = 1;
COMMIT;
:show_dz;
:verify;

-- 12. A self-referencing foreign key with ON UPDATE CASCADE: the cascaded
-- updates of the same table run inside the statement that changes the keys.
CREATE TABLE tbl (a int PRIMARY KEY, b int REFERENCES tbl(a) ON UPDATE CASCADE);
INSERT INTO tbl VALUES (1, NULL), (2, 1), (3, 2), (4, 1);
SELECT ivmx.create_immv('tbl_all', 'SELECT * FROM tbl');
SELECT ivmx.create_immv('tbl_children', 'SELECT b, count(*) AS n FROM tbl GROUP BY b');
SELECT ivmx.create_immv('tbl_pairs', 'SELECT c.a AS child, p.a AS parent FROM tbl c JOIN tbl p ON p.a = c.b');
UPDATE tbl SET a = a + 10;
:verify;
SELECT a, b FROM tbl_all ORDER BY a;
BEGIN;
UPDATE tbl SET a = a + 10 WHERE a >= 12;
INSERT INTO tbl VALUES (30, 22);
UPDATE tbl SET a = 40 WHERE a = 11;
SELECT child, parent FROM tbl_pairs ORDER BY child;
COMMIT;
:verify;
SELECT a, b FROM tbl_all ORDER BY a;
SELECT b, n FROM tbl_children ORDER BY b;

-- 13. DDL on a base table after writes in the same block: columns added,
-- renamed and dropped between the writes.
CREATE TABLE ddl_t (id int PRIMARY KEY, k int NOT NULL, v int NOT NULL);
INSERT INTO ddl_t VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30);
SELECT ivmx.create_immv('ddl_sum', 'SELECT k, count(*) AS n, sum(v) AS total FROM ddl_t GROUP BY k');
SELECT ivmx.create_immv('ddl_rows', 'SELECT id, v FROM ddl_t');
BEGIN;
UPDATE ddl_t SET v = v + 1;
ALTER TABLE ddl_t ADD COLUMN w int DEFAULT 7;
UPDATE ddl_t SET v = v + 1, w = 8 WHERE id = 1;
INSERT INTO ddl_t VALUES (4, 2, 40, 9);
ALTER TABLE ddl_t RENAME COLUMN v TO val;
DELETE FROM ddl_t WHERE id = 2;
ALTER TABLE ddl_t DROP COLUMN w;
INSERT INTO ddl_t VALUES (5, 3, 50);
COMMIT;
:verify;
SELECT k, n, total FROM ddl_sum ORDER BY k;

-- 14. A function reading an IMMV, called in the SET list of a statement
-- writing the IMMV's base table, sees the changes of the block's earlier
-- statements (a statement calling a function that is not built in applies
-- them before it starts). Called from a row trigger of a writing statement
-- (while that statement runs), it sees the IMMV as of before the block's
-- recorded changes: they are applied only once no write is in progress.
CREATE TABLE rt (id int PRIMARY KEY, k int NOT NULL, v int NOT NULL);
CREATE TABLE rt_seen (id int, seen bigint);
INSERT INTO rt VALUES (1, 1, 10);
SELECT ivmx.create_immv('rt_sum', 'SELECT k, sum(v) AS s FROM rt GROUP BY k');
CREATE FUNCTION rt_peek() RETURNS bigint LANGUAGE plpgsql
    AS $$ BEGIN RETURN (SELECT s FROM rt_sum WHERE k = 1); END $$;
CREATE FUNCTION rt_note() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO rt_seen VALUES (NEW.id, rt_peek()); RETURN NULL; END $$;
CREATE TRIGGER rt_note AFTER INSERT ON rt FOR EACH ROW EXECUTE FUNCTION rt_note();
BEGIN;
INSERT INTO rt VALUES (2, 1, 20);
INSERT INTO rt VALUES (3, 1, 30), (4, 1, 40);
UPDATE rt SET v = rt_peek() WHERE id = 1 RETURNING id, v;
SELECT id, seen FROM rt_seen ORDER BY id;
COMMIT;
:verify;
SELECT k, s FROM rt_sum ORDER BY k;

-- Dropping the schemas drops every IMMV and table of this file.
SET client_min_messages = warning;
DROP SCHEMA txn_scope CASCADE;
DROP SCHEMA txn_alice CASCADE;
DROP SCHEMA txn_bob CASCADE;
RESET client_min_messages;
RESET search_path;
DROP ROLE regress_ivmx_txn_alice;
DROP ROLE regress_ivmx_txn_bob;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
