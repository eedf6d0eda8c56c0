CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- A query cancel (here statement_timeout: SQLSTATE 57014) stops pg_ivmx's
-- long operations at once and leaves nothing behind:
--  * ivmx.create_immv whose initial population would take seconds fails
--    with 57014; no table, trigger, delta log or catalog row remains;
--  * ivmx.flush of a large backlog fails with 57014 too: the refresh does
--    not retry the batch another way (a refresh applies a batch as logged in
--    a subtransaction, and nets it first only if that fails for another
--    reason). The IMMV is left as it was, its rows still pending; a later
--    flush applies them.
-- The operations below would run for several seconds: each joins 6,000
-- rows with 5,000 rows per key (30 million join rows). The timeout stops
-- them after 200 ms; the output shows the SQLSTATE and the state left, not
-- timings. The scheduler is switched off (only ivmx.flush applies), and
-- recomputes chosen by size are disabled (the flush is incremental).
ALTER SYSTEM SET ivmx.enabled = off;
ALTER SYSTEM SET ivmx.full_refresh_ratio = 0;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
CREATE SCHEMA cancel;
SET search_path = cancel, public;
\set VERBOSITY terse
\set verify 'SELECT ivmx.verify_immv(''fact_dim'') AS fact_dim'
-- :sqlstate shows the SQLSTATE of the statement before it (00000: no
-- error). What is left: relations named cancelled*, catalog rows, capture
-- triggers and delta logs (the deferred IMMV fact_dim has its own: one
-- catalog row, 5 capture triggers on each of its two tables, two delta logs).
\set sqlstate 'SELECT :''SQLSTATE'' AS sqlstate'
\set leftovers 'SELECT (SELECT count(*) FROM pg_class WHERE relname LIKE ''cancelled%'') AS relations, (SELECT count(*) FROM ivmx.immv) AS immvs, (SELECT count(*) FROM pg_trigger WHERE tgfoid = ''ivmx.capture_trigger''::regproc) AS capture_triggers, (SELECT count(*) FROM ivmx.delta_log) AS logs'

CREATE TABLE dim (id int PRIMARY KEY, k int NOT NULL);
INSERT INTO dim SELECT g, g % 10 FROM generate_series(1, 50000) g;
CREATE TABLE fact (id int PRIMARY KEY, k int NOT NULL);
SELECT ivmx.create_immv('fact_dim',
    'SELECT f.k, count(*) AS n FROM fact f JOIN dim d ON d.k = f.k GROUP BY f.k',
    mode => 'deferred');
:verify;
-- 6,000 log rows pending for fact_dim.
INSERT INTO fact SELECT g, g % 10 FROM generate_series(1, 6000) g;
ANALYZE fact, dim;
SELECT pending_rows FROM ivmx.immv_status WHERE immv = 'fact_dim'::regclass;
:leftovers;

-- create_immv: cancelled while it populates the new table.
SET statement_timeout = '200ms';
SELECT ivmx.create_immv('cancelled',
    'SELECT f.k, count(*) AS n FROM fact f JOIN dim d ON d.k = f.k GROUP BY f.k');
:sqlstate;
RESET statement_timeout;
:leftovers;

-- flush: cancelled while it applies the backlog.
SET statement_timeout = '200ms';
SELECT ivmx.flush('fact_dim');
:sqlstate;
RESET statement_timeout;
-- Nothing applied, nothing recorded: the rows are still pending.
SELECT pending_rows, refresh_count, consecutive_failures, last_error
  FROM ivmx.immv_status WHERE immv = 'fact_dim'::regclass;
SELECT count(*) AS history FROM ivmx.refresh_history WHERE immvrelid = 'fact_dim'::regclass;
SELECT k, n FROM fact_dim ORDER BY k;

-- A later flush applies everything pending. (Most rows are deleted first,
-- so that it is quick: 10 fact rows and 10 dim rows per key remain.)
DELETE FROM fact WHERE id > 10;
DELETE FROM dim WHERE id > 100;
SELECT ivmx.flush('fact_dim');
:sqlstate;
:verify;
SELECT pending_rows, refresh_count, consecutive_failures
  FROM ivmx.immv_status WHERE immv = 'fact_dim'::regclass;
SELECT k, n FROM fact_dim ORDER BY k;
-- The same check spelled out: the IMMV and its query, EXCEPT ALL both ways.
SELECT (SELECT count(*) FROM (SELECT k, n FROM fact_dim EXCEPT ALL
            SELECT f.k, count(*) FROM fact f JOIN dim d ON d.k = f.k GROUP BY f.k) a) AS missing_from_query,
       (SELECT count(*) FROM (SELECT f.k, count(*) FROM fact f JOIN dim d ON d.k = f.k GROUP BY f.k
            EXCEPT ALL SELECT k, n FROM fact_dim) b) AS missing_from_immv;

-- Dropping the schema drops the IMMV, its tables, catalog row and logs.
\set VERBOSITY default
SET client_min_messages = warning;
DROP SCHEMA cancel CASCADE;
RESET client_min_messages;
RESET search_path;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
SELECT count(*) AS orphan_logs FROM ivmx.delta_log l
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = l.relid);

ALTER SYSTEM RESET ivmx.enabled;
ALTER SYSTEM RESET ivmx.full_refresh_ratio;
SELECT pg_reload_conf();
