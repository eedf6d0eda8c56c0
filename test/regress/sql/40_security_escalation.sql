CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- An ordinary role tries to gain another role's rights through pg_ivmx.
-- Its weapon is a function of its own that, whenever it runs with superuser
-- rights, makes the attacker a superuser. Every pg_ivmx function that
-- evaluates an IMMV's query must run it as the IMMV's owner in a
-- security-restricted operation, and functions acting on an existing table
-- must check ownership before doing (or locking) anything.
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_mallory;
DROP ROLE IF EXISTS regress_ivmx_victim;
CREATE ROLE regress_ivmx_mallory LOGIN;
CREATE ROLE regress_ivmx_victim LOGIN;
CREATE SCHEMA mallory AUTHORIZATION regress_ivmx_mallory;
CREATE SCHEMA victim AUTHORIZATION regress_ivmx_victim;
GRANT USAGE ON SCHEMA victim TO regress_ivmx_mallory;
\set escalated 'SELECT rolname, rolsuper FROM pg_roles WHERE rolname IN (''regress_ivmx_mallory'', ''regress_ivmx_victim'') ORDER BY 1'

-- The victim's table, with a column mallory's trap can match.
\c - regress_ivmx_victim
CREATE TABLE victim.accounts (id int PRIMARY KEY, balance int);
INSERT INTO victim.accounts VALUES (1, 100), (2, 200);
GRANT SELECT ON victim.accounts TO regress_ivmx_mallory;

\c - regress_ivmx_mallory
SET search_path = mallory;
-- The trap: returns its argument; run by a superuser it escalates mallory,
-- run by anyone it reports who ran it.
CREATE FUNCTION trap(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE regress_ivmx_mallory SUPERUSER';
    END IF;
    RAISE NOTICE 'trap ran as %', current_user;
    RETURN x;
END $$;
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t VALUES (1, 1);

\set VERBOSITY terse
-- 1. restore_immv onto tables mallory does not own: the extension's own
-- catalog (owned by the superuser who ran CREATE EXTENSION) and the
-- victim's table. Refused with 42501 before anything is registered.
SELECT ivmx.restore_immv('ivmx.delta_log', 'SELECT trap(id) AS relid, trap(id) AS logrelid FROM mallory.t');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT ivmx.restore_immv('victim.accounts', 'SELECT trap(id) AS id, v AS balance FROM mallory.t');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT ivmx.restore_immv('victim.accounts', 'SELECT id, balance FROM victim.accounts', populate => true);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
\set VERBOSITY default
\c - :admin
SELECT count(*) AS registered FROM ivmx.immv
 WHERE immvrelid IN ('ivmx.delta_log'::regclass, 'victim.accounts'::regclass);
SELECT count(*) AS capture_triggers FROM pg_trigger WHERE tgrelid = 'mallory.t'::regclass;
:escalated;
-- The victim still writes its table.
\c - regress_ivmx_victim
INSERT INTO victim.accounts VALUES (3, 300);
SELECT id, balance FROM victim.accounts ORDER BY id;

-- 2. Mallory's own IMMV calls the trap. Whoever evaluates its query
-- (creation, immediate maintenance by another writer, verify_immv and
-- refresh_immv by a superuser, restore_immv replayed by a superuser), the
-- trap runs as mallory.
\c - regress_ivmx_mallory
SET search_path = mallory;
GRANT SELECT, INSERT, UPDATE ON t TO regress_ivmx_victim;
GRANT USAGE ON SCHEMA mallory TO regress_ivmx_victim;
SELECT ivmx.create_immv('mallory.trapped', 'SELECT id, mallory.trap(v) AS v FROM mallory.t');
\c - :admin
SET search_path = mallory;
SELECT ivmx.verify_immv('mallory.trapped');
:escalated;
-- A write by the superuser, or by the victim, runs the maintenance as mallory.
INSERT INTO mallory.t VALUES (2, 2);
SELECT ivmx.verify_immv('mallory.trapped');
:escalated;
\c - regress_ivmx_victim
UPDATE mallory.t SET v = v + 10 WHERE id = 2;
\c - :admin
SELECT ivmx.verify_immv('mallory.trapped');
:escalated;
-- Only the owner (or a superuser) may recompute; it runs as the owner.
SELECT ivmx.refresh_immv('mallory.trapped', true);
:escalated;
-- Replaying the restore commands as a superuser (after a dump) runs the
-- recompute as the table's owner too.
SELECT ivmx.get_restore_immv_commands() LIKE '%trapped%' AS listed;
DROP TABLE mallory.trapped;
CREATE TABLE mallory.trapped (id int, v int);
ALTER TABLE mallory.trapped OWNER TO regress_ivmx_mallory;
SELECT ivmx.restore_immv('mallory.trapped', 'SELECT id, mallory.trap(v) AS v FROM mallory.t', populate => true);
:escalated;
SELECT ivmx.verify_immv('mallory.trapped');
SELECT id, v FROM mallory.trapped ORDER BY id;

-- 3. refresh_immv of someone else's IMMV and restore_immv onto someone
-- else's table are refused (must be owner) without waiting for a lock.
\c - regress_ivmx_victim
SELECT ivmx.create_immv('victim.totals', 'SELECT count(*) AS n, sum(balance) AS total FROM victim.accounts');
GRANT SELECT ON victim.totals TO regress_ivmx_mallory;
\c - regress_ivmx_mallory
\set VERBOSITY terse
SELECT ivmx.refresh_immv('victim.totals', false);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
\set VERBOSITY default
SELECT n, total FROM victim.totals;
\c - regress_ivmx_victim
UPDATE victim.accounts SET balance = balance + 1;
SELECT ivmx.verify_immv('victim.totals');
SELECT n, total FROM victim.totals;

-- 4. What an IMMV is, and its statements, are shown only to those who may
-- see its catalog rows; its contents only to those with SELECT on it.
\c - regress_ivmx_victim
SELECT ivmx.create_immv('victim.secret', 'SELECT id, balance FROM victim.accounts WHERE balance > 150');
\c - regress_ivmx_mallory
\set VERBOSITY terse
SELECT ivmx.get_immv_def('victim.secret');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) FROM ivmx.explain_immv('victim.secret');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT ivmx.verify_immv('victim.secret');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Granted SELECT on the IMMV, mallory may compare it with its query (run
-- as its owner), still not read its definition.
\c - regress_ivmx_victim
GRANT SELECT ON victim.secret TO regress_ivmx_mallory;
\c - regress_ivmx_mallory
SELECT ivmx.verify_immv('victim.secret');
SELECT ivmx.get_immv_def('victim.secret');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- 5. pg_ivmx's trigger function attached by hand as an ordinary trigger
-- would maintain the table's IMMVs twice: it refuses to run.
CREATE TRIGGER twice AFTER INSERT ON mallory.t REFERENCING NEW TABLE AS n
    FOR EACH STATEMENT EXECUTE FUNCTION ivmx.capture_trigger();
INSERT INTO mallory.t VALUES (9, 9);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
DROP TRIGGER twice ON mallory.t;
INSERT INTO mallory.t VALUES (9, 9);
SELECT ivmx.verify_immv('mallory.trapped');

-- 6. An immediate IMMV has no refresh interval (nothing is created).
SELECT ivmx.create_immv('mallory.rej_interval', 'SELECT id FROM mallory.t', refresh_interval => '1 minute');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, to_regclass('mallory.rej_interval') AS created;
\set VERBOSITY default

\c - :admin
:escalated;
SET client_min_messages = warning;
DROP SCHEMA mallory CASCADE;
DROP SCHEMA victim CASCADE;
RESET client_min_messages;
DROP ROLE regress_ivmx_mallory;
DROP ROLE regress_ivmx_victim;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
