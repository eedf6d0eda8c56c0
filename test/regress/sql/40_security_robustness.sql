CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- IMMVs that other roles (or the end of a session) would silently break.
--  * Temporary IMMVs are refused (0A000): the table would vanish with its
--    session and leave its catalog rows behind (ivmx.get_create_immv_commands
--    then failed for everyone). So are IMMVs over temporary tables, and
--    restore_immv on a temporary table.
--  * pg_ivmx's triggers are internal triggers, which a table's owner could
--    drop: the owner of a base table (not the IMMV's owner) dropping a
--    capture trigger left the IMMV stale, and the IMMV's owner dropping its
--    guard trigger made it writable. DROP TRIGGER of them is refused
--    (2BP01) while an IMMV needs them. A superuser can still disable them
--    (ALTER TABLE ... DISABLE TRIGGER, or ENABLE TRIGGER, which makes them
--    fire in origin sessions only): ivmx.immv_status then shows the IMMV as
--    broken, ivmx.flush warns, and ivmx.refresh_immv recreates the triggers
--    (with the TRIGGER privilege on the table it needs, as creating the
--    IMMV did) and recomputes the IMMV.
-- Trigger names carry OIDs: statements naming them are run by try(), which
-- returns ok or the SQLSTATE of their error.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_rob_owner;
DROP ROLE IF EXISTS regress_ivmx_rob_viewer;
CREATE ROLE regress_ivmx_rob_owner LOGIN;
CREATE ROLE regress_ivmx_rob_viewer LOGIN;
CREATE SCHEMA robustness AUTHORIZATION regress_ivmx_rob_owner;
GRANT USAGE, CREATE ON SCHEMA robustness TO regress_ivmx_rob_viewer;
CREATE FUNCTION robustness.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM ivmx.immv) AS immvs, (SELECT count(*) FROM pg_class WHERE relname IN (''tmp_sums'', ''tmp_over_temp'')) AS relations'
\set status 'SELECT c.relname AS immv, s.mode, s.state, s.pending_rows FROM ivmx.immv_status s JOIN pg_class c ON c.oid = s.immv WHERE c.relnamespace = ''robustness''::regnamespace ORDER BY 1'

-- The base table belongs to one role; another may read it and attach
-- IMMVs to it (SELECT and TRIGGER).
\c - regress_ivmx_rob_owner
CREATE TABLE robustness.ledger (id int PRIMARY KEY, amount int);
INSERT INTO robustness.ledger VALUES (1, 10), (2, 20);
GRANT SELECT, TRIGGER ON robustness.ledger TO regress_ivmx_rob_viewer;

\c - regress_ivmx_rob_viewer
SET search_path = robustness;
-- Temporary IMMVs, IMMVs over temporary tables: refused.
\set VERBOSITY terse
SELECT ivmx.create_immv('pg_temp.tmp_sums', 'SELECT count(*) AS n FROM ledger');
:rejected;
SET search_path = pg_temp, robustness;
SELECT ivmx.create_immv('tmp_sums', 'SELECT count(*) AS n FROM ledger');
:rejected;
SET search_path = robustness;
CREATE TEMPORARY TABLE tmp_rows (id int PRIMARY KEY, amount int);
SELECT ivmx.create_immv('tmp_over_temp', 'SELECT count(*) AS n FROM tmp_rows');
:rejected;
CREATE TEMPORARY TABLE tmp_restored (n bigint, __ivm_count__ bigint);
SELECT ivmx.restore_immv('pg_temp.tmp_restored', 'SELECT count(*) AS n FROM ledger');
:rejected;
\set VERBOSITY default
-- A new session finds no trace and lists the commands of every IMMV.
\c - regress_ivmx_rob_viewer
SET search_path = robustness;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
SELECT count(*) AS commands FROM ivmx.get_create_immv_commands();

-- viewer's IMMVs over owner's table: one immediate, one deferred.
SELECT ivmx.create_immv('ledger_total', 'SELECT count(*) AS n, sum(amount) AS total FROM ledger');
SELECT ivmx.create_immv('ledger_rows', 'SELECT id, amount FROM ledger', mode => 'deferred');
\set verify 'SELECT ivmx.verify_immv(''robustness.ledger_total'') AS ledger_total, ivmx.verify_immv(''robustness.ledger_rows'') AS ledger_rows'
:verify;
:status;

-- The table's owner cannot drop the capture triggers, the IMMV's owner not
-- its guard trigger.
\c - regress_ivmx_rob_owner
SET search_path = robustness;
SELECT tgtype, try(format('DROP TRIGGER %I ON robustness.ledger', tgname)) FROM pg_trigger
 WHERE tgrelid = 'robustness.ledger'::regclass AND tgfoid = 'ivmx.capture_trigger'::regproc ORDER BY tgtype;
INSERT INTO ledger VALUES (3, 30);
\c - regress_ivmx_rob_viewer
SET search_path = robustness;
SELECT tgtype, try(format('DROP TRIGGER %I ON robustness.ledger_total', tgname)) FROM pg_trigger
 WHERE tgrelid = 'robustness.ledger_total'::regclass AND tgfoid = 'ivmx.guard_trigger'::regproc;
SELECT count(*) AS capture_triggers FROM pg_trigger
 WHERE tgrelid = 'robustness.ledger'::regclass AND tgfoid = 'ivmx.capture_trigger'::regproc;
-- So the IMMV still guards itself and follows the table.
DELETE FROM ledger_total;
SELECT ivmx.flush('ledger_rows');
:verify;
:status;

-- A superuser disables the capture of inserts: the IMMVs are broken.
\c - :admin
SET search_path = robustness;
SELECT tgtype, try(format('ALTER TABLE robustness.ledger DISABLE TRIGGER %I', tgname)) FROM pg_trigger
 WHERE tgrelid = 'robustness.ledger'::regclass AND tgfoid = 'ivmx.capture_trigger'::regproc AND tgtype = 4;
\c - regress_ivmx_rob_owner
SET search_path = robustness;
INSERT INTO ledger VALUES (4, 40);
\c - regress_ivmx_rob_viewer
SET search_path = robustness;
:status;
-- Inserts are not captured any more: the IMMVs fall behind, and a flush
-- warns.
SELECT ivmx.flush('ledger_rows');
:verify;
-- refresh_immv recreates the trigger and recomputes.
SELECT ivmx.refresh_immv('ledger_total');
SELECT ivmx.refresh_immv('ledger_rows') > 0 AS recomputed;
:status;
:verify;
\c - regress_ivmx_rob_owner
SET search_path = robustness;
INSERT INTO ledger VALUES (5, 50);
\c - regress_ivmx_rob_viewer
SET search_path = robustness;
SELECT ivmx.flush('ledger_rows');
:verify;
SELECT n, total FROM ledger_total;

-- Enabled for origin sessions only (ENABLE TRIGGER ALL after a DISABLE
-- TRIGGER ALL): replicated changes would be missed. Broken too.
\c - :admin
ALTER TABLE robustness.ledger DISABLE TRIGGER ALL;
ALTER TABLE robustness.ledger ENABLE TRIGGER ALL;
SELECT count(*) AS firing_always FROM pg_trigger
 WHERE tgrelid = 'robustness.ledger'::regclass AND tgfoid = 'ivmx.capture_trigger'::regproc AND tgenabled = 'A';
\c - regress_ivmx_rob_viewer
SET search_path = robustness;
:status;
-- Repairing needs the right that attaching the triggers needed.
\c - regress_ivmx_rob_owner
REVOKE TRIGGER ON robustness.ledger FROM regress_ivmx_rob_viewer;
\c - regress_ivmx_rob_viewer
SET search_path = robustness;
SELECT ivmx.refresh_immv('ledger_total');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
:status;
\c - regress_ivmx_rob_owner
GRANT TRIGGER ON robustness.ledger TO regress_ivmx_rob_viewer;
\c - regress_ivmx_rob_viewer
SET search_path = robustness;
SELECT ivmx.refresh_immv('ledger_total');
:status;
SELECT count(*) AS firing_always FROM pg_trigger
 WHERE tgrelid = 'robustness.ledger'::regclass AND tgfoid = 'ivmx.capture_trigger'::regproc AND tgenabled = 'A';
\c - regress_ivmx_rob_owner
SET search_path = robustness;
UPDATE ledger SET amount = amount + 1;
\c - regress_ivmx_rob_viewer
SET search_path = robustness;
SELECT ivmx.flush('ledger_rows');
:verify;
SELECT id, amount FROM ledger_rows ORDER BY id;

-- The guard trigger disabled: direct writes get through, broken.
\c - :admin
SELECT tgtype, robustness.try(format('ALTER TABLE robustness.ledger_total DISABLE TRIGGER %I', tgname)) FROM pg_trigger
 WHERE tgrelid = 'robustness.ledger_total'::regclass AND tgfoid = 'ivmx.guard_trigger'::regproc;
\c - regress_ivmx_rob_viewer
SET search_path = robustness;
:status;
SELECT ivmx.refresh_immv('ledger_total');
:status;
\set VERBOSITY terse
DELETE FROM ledger_total;
\set VERBOSITY default
:verify;

-- Once no IMMV needs them, the triggers go with the IMMVs.
DROP TABLE ledger_total, ledger_rows;
SELECT count(*) AS capture_triggers FROM pg_trigger
 WHERE tgrelid = 'robustness.ledger'::regclass AND tgfoid = 'ivmx.capture_trigger'::regproc;

\c - :admin
SET client_min_messages = warning;
DROP SCHEMA robustness CASCADE;
RESET client_min_messages;
DROP ROLE regress_ivmx_rob_viewer;
DROP ROLE regress_ivmx_rob_owner;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
