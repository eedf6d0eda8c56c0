CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Deferred IMMVs and transactions: flush inside a writing transaction
-- (read-your-writes, and nothing applied twice after commit), rollbacks of
-- logged changes, savepoints, switching modes with pending changes,
-- refresh intervals, TRUNCATE of a base table, and dropping deferred IMMVs
-- (their delta log goes when no other deferred IMMV needs it).
-- The scheduler is switched off for this file: only ivmx.flush applies.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
-- This file's objects live in a schema of their own, dropped at the end:
-- the listings below show only them, and later files inherit nothing.
CREATE SCHEMA deferred_txn;
SET search_path = deferred_txn, public;
CREATE VIEW status AS
SELECT s.* FROM ivmx.immv_status s JOIN pg_class c ON c.oid = s.immv
 WHERE c.relnamespace = 'deferred_txn'::regnamespace;
CREATE VIEW logs AS
SELECT l.relid, l.logrelid FROM ivmx.delta_log l JOIN pg_class c ON c.oid = l.relid
 WHERE c.relnamespace = 'deferred_txn'::regnamespace;
-- Delta log tables (ivmx.delta_<oid>) that exist now; :logtables counts new ones.
SELECT count(*) AS logs_before FROM pg_class
 WHERE relnamespace = 'ivmx'::regnamespace AND relname ~ '^delta_[0-9]+$' \gset
\set logtables 'SELECT count(*) - :logs_before AS log_tables FROM pg_class WHERE relnamespace = ''ivmx''::regnamespace AND relname ~ ''^delta_[0-9]+$'''

CREATE TABLE acc (id int PRIMARY KEY, branch int, bal int);
INSERT INTO acc SELECT g, g % 3, 100 FROM generate_series(1, 9) g;
SELECT ivmx.create_immv('per_branch',
    'SELECT branch, count(*) AS n, sum(bal) AS total, max(bal) AS top FROM acc GROUP BY branch',
    mode => 'deferred');
SELECT ivmx.create_immv('rich', 'SELECT id, bal FROM acc WHERE bal > 100', mode => 'deferred');
\set verify 'SELECT ivmx.verify_immv(''per_branch'') AS per_branch, ivmx.verify_immv(''rich'') AS rich'
\set pending 'SELECT immv, pending_rows FROM status WHERE immv IN (''per_branch''::regclass, ''rich''::regclass) ORDER BY immv::text'
\set show 'SELECT branch, n, total, top FROM per_branch ORDER BY branch'
:verify;

-- A flush in the middle of a writing transaction applies the transaction's
-- own changes so far (read-your-writes); what it writes afterwards stays
-- pending and is applied once after commit.
BEGIN;
UPDATE acc SET bal = bal + 50 WHERE id IN (1, 2);
INSERT INTO acc VALUES (10, 1, 500);
:verify;
:pending;
SELECT ivmx.flush('per_branch') AS per_branch, ivmx.flush('rich') AS rich;
:verify;
:pending;
:show;
SELECT id, bal FROM rich ORDER BY id;
-- More writes, to rows written before the flush and to others.
UPDATE acc SET bal = bal + 1 WHERE id IN (1, 10);
DELETE FROM acc WHERE id = 2;
INSERT INTO acc VALUES (11, 2, 700);
:verify;
:pending;
COMMIT;
-- Only the writes after the flush are pending.
:verify;
:pending;
SELECT ivmx.flush('per_branch') AS per_branch, ivmx.flush('rich') AS rich;
:verify;
:pending;
:show;
SELECT id, bal FROM rich ORDER BY id;

-- Two flushes in one transaction, the second after more writes, and a
-- flush before the transaction writes anything.
BEGIN;
SELECT ivmx.flush();
UPDATE acc SET bal = bal - 1 WHERE branch = 0;
SELECT ivmx.flush();
:verify;
UPDATE acc SET bal = bal - 1 WHERE branch = 0;
SELECT ivmx.flush();
:verify;
UPDATE acc SET bal = bal - 1 WHERE branch = 0;
COMMIT;
:verify;
:pending;
SELECT ivmx.flush();
:verify;
:show;

-- A rolled-back transaction's logged changes are never applied.
BEGIN;
INSERT INTO acc VALUES (20, 0, 1000);
UPDATE acc SET bal = 0;
DELETE FROM acc WHERE id = 1;
:pending;
ROLLBACK;
:pending;
SELECT ivmx.flush();
:verify;
:show;
-- A flush inside a transaction that rolls back is undone with it.
BEGIN;
INSERT INTO acc VALUES (20, 0, 1000);
SELECT ivmx.flush();
:verify;
:show;
ROLLBACK;
:verify;
:pending;
:show;
-- Rows logged by a transaction that flushed and then rolled back stay
-- invisible; rows committed by others before are applied once.
INSERT INTO acc VALUES (21, 1, 101);
BEGIN;
INSERT INTO acc VALUES (22, 1, 102);
SELECT ivmx.flush();
ROLLBACK;
:pending;
SELECT ivmx.flush();
:verify;
SELECT id, bal FROM rich ORDER BY id;

-- Savepoints: changes of a rolled-back subtransaction are not applied, and
-- a flush undone by ROLLBACK TO SAVEPOINT leaves its rows pending.
BEGIN;
INSERT INTO acc VALUES (30, 0, 300);
SAVEPOINT s1;
INSERT INTO acc VALUES (31, 0, 310);
ROLLBACK TO SAVEPOINT s1;
SAVEPOINT s2;
UPDATE acc SET bal = bal + 5 WHERE id = 30;
SELECT ivmx.flush();
:verify;
ROLLBACK TO SAVEPOINT s2;
:verify;
INSERT INTO acc VALUES (32, 0, 320);
COMMIT;
:verify;
:pending;
SELECT ivmx.flush();
:verify;
:show;
SELECT id, bal FROM rich ORDER BY id;

-- set_mode with pending changes. To immediate: the pending changes are
-- applied at once, later writes are applied by the writing statement.
UPDATE acc SET bal = bal * 2 WHERE id IN (3, 4);
:verify;
SELECT ivmx.set_mode('per_branch', 'immediate');
:verify;
-- lag: NULL for an immediate IMMV, the age of the oldest pending change else.
SELECT immv, mode, pending_rows, lag IS NULL AS no_lag, lag > interval '0' AS lagging
  FROM status ORDER BY immv::text;
UPDATE acc SET bal = bal + 1 WHERE id = 5;
:verify;
-- rich is still deferred and has both updates pending; the log stays.
:pending;
SELECT count(*) AS logs FROM logs;
SELECT ivmx.flush('rich');
:verify;
-- Back to deferred: writes are logged again, nothing is lost or doubled.
SELECT ivmx.set_mode('per_branch', 'deferred');
SELECT immv, mode, pending_rows FROM status ORDER BY immv::text;
UPDATE acc SET bal = bal + 1 WHERE id = 6;
INSERT INTO acc VALUES (40, 1, 40);
:verify;
:pending;
-- Both to immediate, in one transaction: the log has no reader left.
BEGIN;
SELECT ivmx.set_mode('per_branch', 'immediate');
SELECT ivmx.set_mode('rich', 'IMMEDIATE');
:verify;
COMMIT;
SELECT immv, mode, pending_rows FROM status ORDER BY immv::text;
SELECT count(*) AS logs FROM logs;
DELETE FROM acc WHERE id = 40;
:verify;
-- A switch that rolls back changes nothing.
BEGIN;
SELECT ivmx.set_mode('rich', 'deferred');
ROLLBACK;
SELECT immv, mode FROM status ORDER BY immv::text;
SELECT count(*) AS logs FROM logs;
-- Switching to deferred in a transaction that already changed the base
-- table is refused; switching to the current mode is a no-op; bad modes are
-- refused.
SELECT ivmx.set_mode('rich', 'deferred');
BEGIN;
UPDATE acc SET bal = bal + 1 WHERE id = 7;
SELECT ivmx.set_mode('per_branch', 'deferred');
ROLLBACK;
SELECT ivmx.set_mode('rich', 'deferred');
SELECT ivmx.set_mode('rich', 'lazy');
SELECT ivmx.set_mode('acc', 'deferred');
SELECT immv, mode FROM status ORDER BY immv::text;
-- Switching back to immediate in a transaction that rolls back keeps the
-- pending changes pending.
UPDATE acc SET bal = bal + 1000 WHERE id = 8;
BEGIN;
SELECT ivmx.set_mode('rich', 'immediate');
:verify;
ROLLBACK;
:verify;
:pending;
SELECT ivmx.flush('rich');
:verify;

-- Refresh intervals: stored and shown, NULL clears; flush ignores them.
SELECT ivmx.set_refresh_interval('rich', '10 minutes');
SELECT immv, refresh_interval FROM status WHERE immv = 'rich'::regclass;
UPDATE acc SET bal = bal + 1 WHERE id = 8;
SELECT ivmx.flush('rich');
:verify;
SELECT ivmx.set_refresh_interval('rich', NULL);
SELECT immv, refresh_interval FROM status WHERE immv = 'rich'::regclass;
SELECT ivmx.create_immv('rich2', 'SELECT id FROM acc WHERE bal > 1000',
                        mode => 'deferred', refresh_interval => '1 hour');
SELECT immv, mode, refresh_interval FROM status WHERE immv = 'rich2'::regclass;
DROP TABLE rich2;

-- TRUNCATE of a base table recomputes its deferred IMMVs in the truncating
-- transaction; changes pending before are covered by the recompute.
SELECT ivmx.set_mode('per_branch', 'deferred');
UPDATE acc SET bal = bal + 1 WHERE id = 9;
:pending;
BEGIN;
TRUNCATE acc;
:verify;
:pending;
INSERT INTO acc VALUES (1, 1, 111), (2, 2, 222);
:verify;
COMMIT;
:verify;
:pending;
SELECT ivmx.flush();
:verify;
:show;
-- A rolled-back TRUNCATE leaves everything as it was.
UPDATE acc SET bal = 5 WHERE id = 1;
BEGIN;
TRUNCATE acc;
ROLLBACK;
:verify;
:pending;
SELECT ivmx.flush();
:verify;
:show;
-- TRUNCATE of one table of a deferred join view.
CREATE TABLE dept (d int PRIMARY KEY, name text);
CREATE TABLE staff (id int PRIMARY KEY, d int);
INSERT INTO dept VALUES (1, 'x'), (2, 'y');
INSERT INTO staff VALUES (1, 1), (2, 1), (3, 2);
SELECT ivmx.create_immv('dept_size',
    'SELECT name, count(*) AS n FROM staff JOIN dept USING (d) GROUP BY name', mode => 'deferred');
INSERT INTO staff VALUES (4, 2);
TRUNCATE staff;
SELECT ivmx.verify_immv('dept_size');
SELECT immv, pending_rows FROM status WHERE immv = 'dept_size'::regclass;
INSERT INTO staff VALUES (5, 2);
UPDATE dept SET name = 'z' WHERE d = 2;
SELECT ivmx.flush('dept_size');
SELECT ivmx.verify_immv('dept_size');
SELECT name, n FROM dept_size ORDER BY name;

-- Dropping deferred IMMVs: the delta log of a table stays while another
-- deferred IMMV reads the table, and goes with the last one.
SELECT relid FROM logs ORDER BY relid::text;
:logtables;
UPDATE acc SET bal = bal + 1;
DROP TABLE per_branch;
SELECT relid FROM logs ORDER BY relid::text;
:logtables;
SELECT immv, pending_rows FROM status WHERE immv = 'rich'::regclass;
SELECT ivmx.flush('rich');
SELECT ivmx.verify_immv('rich');
DROP TABLE rich;
SELECT relid FROM logs ORDER BY relid::text;
:logtables;
-- An immediate IMMV on the table keeps working without a log.
SELECT ivmx.create_immv('acc_count', 'SELECT count(*) AS n FROM acc');
SELECT ivmx.create_immv('acc_def', 'SELECT branch, count(*) AS n FROM acc GROUP BY branch',
                        mode => 'deferred');
SELECT count(*) AS logs FROM logs WHERE relid = 'acc'::regclass;
INSERT INTO acc VALUES (3, 0, 3);
DROP TABLE acc_def;
SELECT count(*) AS logs FROM logs WHERE relid = 'acc'::regclass;
INSERT INTO acc VALUES (4, 0, 4);
SELECT ivmx.verify_immv('acc_count');
-- Dropping a base table with CASCADE drops its deferred IMMVs and the logs.
DROP TABLE dept CASCADE;
SELECT immv FROM status ORDER BY immv::text;
SELECT count(*) AS logs FROM logs;
:logtables;

-- Dropping a deferred IMMV also removes its refresh history.
CREATE TABLE hist (k int);
SELECT ivmx.create_immv('hist_k', 'SELECT k, count(*) AS n FROM hist GROUP BY k', mode => 'deferred');
INSERT INTO hist VALUES (1);
SELECT ivmx.flush('hist_k');
SELECT 'hist_k'::regclass::oid AS hist_oid \gset
SELECT count(*) AS history_rows FROM ivmx.refresh_history WHERE immvrelid = :hist_oid;
DROP TABLE hist_k;
SELECT count(*) AS history_rows FROM ivmx.refresh_history WHERE immvrelid = :hist_oid;

-- Dropping the schema drops every IMMV and base table of this file, with
-- their catalog rows and delta logs.
SET client_min_messages = warning;
DROP SCHEMA deferred_txn CASCADE;
RESET client_min_messages;
RESET search_path;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
SELECT count(*) AS orphan_logs FROM ivmx.delta_log l
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = l.relid);
:logtables;

ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
