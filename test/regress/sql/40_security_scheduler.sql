CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Deferred maintenance cannot be disturbed by another role. mallory owns a
-- deferred IMMV of its own and tries to get at alice's:
--  * ivmx.flush() flushes the caller's own deferred IMMVs only (with the
--    deferred IMMVs they read, as ivmx.flush(immv) does): it neither locks
--    nor refreshes alice's, and does not wait for a session holding them;
--  * set_mode, set_refresh_interval and flush(immv) check the caller's
--    rights before they lock the IMMV: a caller without them is refused at
--    once, even while another session holds the IMMV;
--  * refresh intervals are validated (longer than zero, at most a year, no
--    negative part; 22023), and refused on immediate IMMVs (55000): a
--    huge one used to make the scheduler fail every round ("timestamp out
--    of range") and so stop deferred maintenance for everyone;
--  * the scheduler survives any value a catalog row holds: with a huge
--    interval stored in one row (as before validation existed), it goes on
--    refreshing the other IMMVs.
-- A prepared transaction stands for a session holding alice's IMMV. The
-- scheduler is off except where this file waits for it (a loop that ends
-- as soon as the awaited state is there, or after 10 s).
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_sch_alice;
DROP ROLE IF EXISTS regress_ivmx_sch_mallory;
CREATE ROLE regress_ivmx_sch_alice LOGIN;
CREATE ROLE regress_ivmx_sch_mallory LOGIN;
CREATE SCHEMA sched_alice AUTHORIZATION regress_ivmx_sch_alice;
CREATE SCHEMA sched_mallory AUTHORIZATION regress_ivmx_sch_mallory;
GRANT USAGE ON SCHEMA sched_alice TO regress_ivmx_sch_mallory;
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate'
\set status 'SELECT c.relnamespace::regnamespace AS schema, c.relname AS immv, s.mode, s.state, s.pending_rows, s.refresh_interval FROM ivmx.immv_status s JOIN pg_class c ON c.oid = s.immv WHERE c.relnamespace IN (''sched_alice''::regnamespace, ''sched_mallory''::regnamespace) ORDER BY 1, 2'

\c - regress_ivmx_sch_alice
SET search_path = sched_alice;
CREATE TABLE orders (id int PRIMARY KEY, amount int);
SELECT ivmx.create_immv('totals', 'SELECT count(*) AS n, sum(amount) AS total FROM orders', mode => 'deferred');
SELECT ivmx.create_immv('order_list', 'SELECT id, amount FROM orders');
\set verify 'SELECT ivmx.verify_immv(''sched_alice.totals'') AS totals, ivmx.verify_immv(''sched_alice.order_list'') AS order_list'
INSERT INTO orders VALUES (1, 10), (2, 20);
:verify;

\c - regress_ivmx_sch_mallory
SET search_path = sched_mallory;
CREATE TABLE things (id int PRIMARY KEY);
SELECT ivmx.create_immv('thing_count', 'SELECT count(*) AS n FROM things', mode => 'deferred');
INSERT INTO things VALUES (1), (2), (3);
SELECT ivmx.verify_immv('thing_count') > 0 AS behind;

-- A session holds alice's IMMVs.
\c - :admin
BEGIN;
LOCK TABLE sched_alice.totals, sched_alice.order_list IN ACCESS EXCLUSIVE MODE;
PREPARE TRANSACTION 'regress_ivmx_sch_hold';
:status;

-- mallory's flush() applies mallory's changes only, without waiting for
-- alice's IMMVs, and leaves no lock on them.
\c - regress_ivmx_sch_mallory
SET search_path = sched_mallory;
SET lock_timeout = '2s';
BEGIN;
SELECT ivmx.flush();
SELECT count(*) AS locks_on_alices_immvs FROM pg_locks
 WHERE pid = pg_backend_pid() AND relation IN ('sched_alice.totals'::regclass, 'sched_alice.order_list'::regclass);
COMMIT;
SELECT ivmx.verify_immv('thing_count') AS thing_count;
-- Rights are checked before any lock is taken: refused at once.
\set VERBOSITY terse
SELECT ivmx.set_mode('sched_alice.totals', 'immediate');
:rejected;
SELECT ivmx.set_mode('sched_alice.order_list', 'deferred');
:rejected;
SELECT ivmx.set_refresh_interval('sched_alice.totals', '1 minute');
:rejected;
SELECT ivmx.flush('sched_alice.totals');
:rejected;
\set VERBOSITY default
RESET lock_timeout;

\c - :admin
COMMIT PREPARED 'regress_ivmx_sch_hold';
-- alice's IMMV still has its pending changes, mallory's has none.
:status;

-- Refresh intervals: a year at most, longer than zero, no negative part.
\c - regress_ivmx_sch_alice
SET search_path = sched_alice;
SELECT ivmx.set_refresh_interval('totals', '100000000 years');
:rejected;
\set VERBOSITY terse
SELECT ivmx.set_refresh_interval('totals', '366 days');
:rejected;
SELECT ivmx.set_refresh_interval('totals', '0');
:rejected;
SELECT ivmx.set_refresh_interval('totals', '-1 minute');
:rejected;
SELECT ivmx.set_refresh_interval('totals', '1 day -1 hour');
:rejected;
\set VERBOSITY default
SELECT ivmx.set_refresh_interval('totals', '1 year');
SELECT ivmx.set_refresh_interval('totals', '10 minutes');
-- Not on an immediate IMMV (NULL is always accepted).
SELECT ivmx.set_refresh_interval('order_list', '1 minute');
:rejected;
SELECT ivmx.set_refresh_interval('order_list', NULL);
-- create_immv validates its refresh_interval the same way, leaving nothing
-- behind.
\set VERBOSITY terse
SELECT ivmx.create_immv('totals_slow', 'SELECT count(*) AS n FROM orders', mode => 'deferred',
                        refresh_interval => '1000 years');
:rejected;
\set VERBOSITY default
SELECT count(*) AS leftovers FROM pg_class WHERE relname = 'totals_slow';
SELECT ivmx.create_immv('totals_slow', 'SELECT count(*) AS n FROM orders', mode => 'deferred',
                        refresh_interval => '30 minutes');
:status;
SELECT ivmx.flush('totals');
SELECT ivmx.flush('totals_slow');
:verify;
SELECT ivmx.verify_immv('totals_slow') AS totals_slow;

-- A huge interval stored in mallory's row (as a release without
-- validation stored it; only the catalog's owner can write it now).
\c - :admin
UPDATE ivmx.immv SET refresh_interval = '100000000 years', last_refresh = now()
 WHERE immvrelid = 'sched_mallory.thing_count'::regclass;
UPDATE ivmx.immv SET refresh_interval = NULL WHERE immvrelid = 'sched_alice.totals'::regclass;
-- New changes for both; the scheduler refreshes alice's IMMV and leaves
-- mallory's for later: no refresh of it is due in this millennium.
INSERT INTO sched_alice.orders VALUES (3, 30);
INSERT INTO sched_mallory.things VALUES (4);
ALTER SYSTEM SET ivmx.enabled = on;
SELECT pg_reload_conf();
DO $$
DECLARE deadline timestamptz := clock_timestamp() + interval '10 s';
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM ivmx.immv_status WHERE immv = 'sched_alice.totals'::regclass
                                 AND pending_rows > 0);
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT immv, state, pending_rows, consecutive_failures FROM ivmx.immv_status
 WHERE immv IN ('sched_alice.totals'::regclass, 'sched_mallory.thing_count'::regclass) ORDER BY immv::text;
SELECT ivmx.verify_immv('sched_alice.totals') AS totals;
SELECT n, total FROM sched_alice.totals;
SELECT count(*) = current_setting('ivmx.max_workers_per_database')::int AS all_schedulers_run
  FROM pg_stat_activity
 WHERE backend_type = 'pg_ivmx scheduler' AND datname = current_database();

\c - :admin
SET client_min_messages = warning;
DROP SCHEMA sched_alice CASCADE;
DROP SCHEMA sched_mallory CASCADE;
RESET client_min_messages;
DROP ROLE regress_ivmx_sch_mallory;
DROP ROLE regress_ivmx_sch_alice;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
