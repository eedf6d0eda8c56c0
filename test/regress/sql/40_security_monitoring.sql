CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Monitoring data about an IMMV is its owner's business. The catalog tables
-- (ivmx.immv, ivmx.immv_dependency, ivmx.refresh_history), the views over
-- them (ivmx.immvs, ivmx.immv_dependencies, ivmx.immv_status),
-- ivmx.pending_changes and ivmx.get_create_immv_commands show an IMMV only
-- to its owner, to roles having the owner's privileges (a member of the
-- owner's role), to pg_monitor members and to superusers; the delta logs
-- and their directory ivmx.delta_log to nobody but the extension's owner.
-- alice's refresh fails on a value that is no integer, and the error
-- recorded quotes it ("hunter2"). mallory, who may write alice's table but
-- not read it, looks for it everywhere and finds nothing; mallory's writes
-- still maintain alice's IMMVs (pg_ivmx's own catalog reads see every
-- IMMV, whoever's session they run in).
-- The scheduler is off except where this file waits for it to record the
-- failure (a loop that ends as soon as it is there, or after 10 s).
ALTER SYSTEM SET ivmx.enabled = off;
ALTER SYSTEM SET ivmx.max_retry_interval = 500;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_mon_alice;
DROP ROLE IF EXISTS regress_ivmx_mon_deputy;
DROP ROLE IF EXISTS regress_ivmx_mon_auditor;
DROP ROLE IF EXISTS regress_ivmx_mon_mallory;
CREATE ROLE regress_ivmx_mon_alice LOGIN;
-- A member of alice's role, inheriting its privileges.
CREATE ROLE regress_ivmx_mon_deputy LOGIN IN ROLE regress_ivmx_mon_alice;
CREATE ROLE regress_ivmx_mon_auditor LOGIN IN ROLE pg_monitor;
CREATE ROLE regress_ivmx_mon_mallory LOGIN;
CREATE SCHEMA monitoring AUTHORIZATION regress_ivmx_mon_alice;
CREATE SCHEMA monitoring_mallory AUTHORIZATION regress_ivmx_mon_mallory;
GRANT USAGE ON SCHEMA monitoring TO regress_ivmx_mon_mallory;

\c - regress_ivmx_mon_alice
SET search_path = monitoring;
CREATE TABLE accounts (id int PRIMARY KEY, pin text);
INSERT INTO accounts VALUES (1, '1234'), (2, '5678');
-- mallory may add accounts, not read them.
GRANT INSERT ON accounts TO regress_ivmx_mon_mallory;
SELECT ivmx.create_immv('pins', 'SELECT id, pin::int AS pin FROM accounts', mode => 'deferred');
SELECT ivmx.create_immv('pin_total', 'SELECT sum(pin) AS total, count(*) AS n FROM pins', mode => 'deferred');
SELECT ivmx.create_immv('account_count', 'SELECT count(*) AS n FROM accounts');
\set verify 'SELECT ivmx.verify_immv(''pins'') AS pins, ivmx.verify_immv(''pin_total'') AS pin_total, ivmx.verify_immv(''account_count'') AS account_count'
:verify;
-- A secret that is no integer: pins's query now fails (so does verifying
-- it, which runs that query); account_count is maintained as before.
INSERT INTO accounts VALUES (3, 'hunter2');
SELECT ivmx.verify_immv('account_count') AS account_count;

-- The scheduler tries to refresh pins, fails, and records the error.
\c - :admin
ALTER SYSTEM SET ivmx.enabled = on;
SELECT pg_reload_conf();
DO $$
DECLARE deadline timestamptz := clock_timestamp() + interval '10 s';
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        EXIT WHEN EXISTS (SELECT FROM ivmx.immv WHERE immvrelid = 'monitoring.pins'::regclass AND failures > 0);
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
-- The superuser sees everything.
SELECT 'monitoring.pins'::regclass::oid AS pins_oid \gset
SELECT immv, state, pending_rows, depth, upstream, last_error FROM ivmx.immv_status
 WHERE immv::text LIKE 'monitoring.%' ORDER BY immv::text;

-- The owner sees its IMMVs, the error text with its secret, the history.
\c - regress_ivmx_mon_alice
SET search_path = monitoring;
SELECT immv, state, pending_rows, depth, upstream, last_error FROM ivmx.immv_status ORDER BY immv::text;
SELECT immvname, mode, populated FROM ivmx.immvs ORDER BY immvname;
SELECT immv, reads, reads_immv FROM ivmx.immv_dependencies ORDER BY immv::text, reads::text;
SELECT DISTINCT error FROM ivmx.refresh_history WHERE immvrelid = 'pins'::regclass;
SELECT rows, oldest IS NOT NULL AS has_oldest FROM ivmx.pending_changes('pins');

-- So does a member of the owner's role, and a member of pg_monitor.
\c - regress_ivmx_mon_deputy
SELECT immv, state, pending_rows, last_error FROM ivmx.immv_status ORDER BY immv::text;
SELECT DISTINCT immvrelid, error FROM ivmx.refresh_history;
\c - regress_ivmx_mon_auditor
SELECT immv, state, pending_rows, last_error FROM ivmx.immv_status
 WHERE immv::text LIKE 'monitoring.%' ORDER BY immv::text;
SELECT rows FROM ivmx.pending_changes(:pins_oid);

-- mallory has an IMMV of its own, and sees only that one.
\c - regress_ivmx_mon_mallory
SET search_path = monitoring_mallory;
CREATE TABLE notes (id int PRIMARY KEY, body text);
SELECT ivmx.create_immv('note_count', 'SELECT count(*) AS n FROM notes', mode => 'deferred');
INSERT INTO notes VALUES (1, 'mine');
SELECT ivmx.verify_immv('note_count') AS note_count_before_flush;
SELECT ivmx.flush('note_count');
SELECT ivmx.verify_immv('note_count') AS note_count;
SELECT immv, state, pending_rows, last_error FROM ivmx.immv_status ORDER BY immv::text;
SELECT immvname FROM ivmx.immvs ORDER BY immvname;
SELECT immv, reads FROM ivmx.immv_dependencies ORDER BY immv::text;
SELECT ivmx.get_create_immv_commands();
-- Nothing of alice's: not in the catalog tables, not in the views, not in
-- the history, not behind the functions that read them with pg_ivmx's
-- rights (which answer as for a relation that is no IMMV).
SELECT count(*) AS immv_rows FROM ivmx.immv WHERE immvrelid::text LIKE 'monitoring.%';
SELECT count(*) AS dependency_rows FROM ivmx.immv_dependency WHERE immvrelid::text LIKE 'monitoring.%';
SELECT count(*) AS history_rows FROM ivmx.refresh_history WHERE immvrelid::text LIKE 'monitoring.%';
SELECT count(*) AS secrets FROM ivmx.immv_status WHERE last_error LIKE '%hunter2%';
SELECT count(*) AS secrets FROM ivmx.immv WHERE last_error LIKE '%hunter2%';
SELECT count(*) AS secrets FROM ivmx.refresh_history WHERE error LIKE '%hunter2%';
SELECT * FROM ivmx.pending_changes('monitoring.pins');
SELECT * FROM ivmx.pending_changes('monitoring.pin_total');
SELECT * FROM ivmx._immv_state('monitoring.pins');
SELECT count(*) AS commands FROM ivmx.get_create_immv_commands() c WHERE c LIKE '%"monitoring"%';
SELECT count(*) AS commands FROM ivmx.get_restore_immv_commands() c WHERE c LIKE '%"monitoring"%';
-- The logs and their directory are the extension owner's alone; a log's
-- name is predictable, its rows are not readable.
\set VERBOSITY terse
SELECT count(*) FROM ivmx.delta_log;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
\set VERBOSITY default
DO $$
BEGIN
    EXECUTE format('SELECT count(*) FROM ivmx.delta_%s', 'monitoring.accounts'::regclass::oid);
    RAISE NOTICE 'log readable';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'reading the log: insufficient_privilege';
END $$;
-- mallory's writes to alice's table maintain alice's IMMVs all the same:
-- the immediate one at once, the deferred ones through the log.
INSERT INTO monitoring.accounts VALUES (4, '42');

\c - regress_ivmx_mon_alice
SET search_path = monitoring;
SELECT ivmx.verify_immv('account_count') AS account_count;
SELECT n FROM account_count;
SELECT immv, pending_rows FROM ivmx.immv_status ORDER BY immv::text;
-- Without the secret, the scheduler brings everything forward.
DELETE FROM accounts WHERE id = 3;
SELECT ivmx.verify_immv('account_count') AS account_count;
\c - :admin
ALTER SYSTEM SET ivmx.enabled = on;
SELECT pg_reload_conf();
DO $$
DECLARE deadline timestamptz := clock_timestamp() + interval '10 s';
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM ivmx.immv_status WHERE immv::text LIKE 'monitoring.%'
                                 AND (state <> 'ok' OR pending_rows > 0));
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\c - regress_ivmx_mon_alice
SET search_path = monitoring;
:verify;
SELECT immv, state, pending_rows, last_error FROM ivmx.immv_status ORDER BY immv::text;
SELECT id, pin FROM pins ORDER BY id;
SELECT total, n FROM pin_total;

\c - :admin
SET client_min_messages = warning;
DROP SCHEMA monitoring CASCADE;
DROP SCHEMA monitoring_mallory CASCADE;
RESET client_min_messages;
DROP ROLE regress_ivmx_mon_deputy;
DROP ROLE regress_ivmx_mon_auditor;
DROP ROLE regress_ivmx_mon_mallory;
DROP ROLE regress_ivmx_mon_alice;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
ALTER SYSTEM RESET ivmx.enabled;
ALTER SYSTEM RESET ivmx.max_retry_interval;
SELECT pg_reload_conf();
