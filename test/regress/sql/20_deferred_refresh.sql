CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- How deferred IMMVs are refreshed: ivmx.refresh_history and the counters of
-- ivmx.immv_status, ivmx.max_batch_rows (a backlog drains in several
-- incremental batches), ivmx.full_refresh_ratio (a large batch recomputes),
-- ivmx.history_limit, refresh_immv of a deferred IMMV, and a refresh that
-- fails (division by zero) and recovers once the offending row is gone.
-- The scheduler is switched off for this file: only ivmx.flush applies.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
-- This file's objects live in a schema of their own, dropped at the end:
-- the listings below show only them, and later files inherit nothing.
CREATE SCHEMA deferred_refresh;
SET search_path = deferred_refresh, public;
CREATE VIEW status AS
SELECT s.* FROM ivmx.immv_status s JOIN pg_class c ON c.oid = s.immv
 WHERE c.relnamespace = 'deferred_refresh'::regnamespace;
CREATE VIEW logs AS
SELECT l.relid, l.logrelid FROM ivmx.delta_log l JOIN pg_class c ON c.oid = l.relid
 WHERE c.relnamespace = 'deferred_refresh'::regnamespace;
-- Delta log tables (ivmx.delta_<oid>) that exist now; :logtables counts new ones.
SELECT count(*) AS logs_before FROM pg_class
 WHERE relnamespace = 'ivmx'::regnamespace AND relname ~ '^delta_[0-9]+$' \gset
\set logtables 'SELECT count(*) - :logs_before AS log_tables FROM pg_class WHERE relnamespace = ''ivmx''::regnamespace AND relname ~ ''^delta_[0-9]+$'''
\set history 'SELECT rows_consumed, kind, error FROM ivmx.refresh_history WHERE immvrelid = :''immv''::regclass ORDER BY id'

-- 1000 rows, analyzed, so that small batches stay incremental.
CREATE TABLE big (id int PRIMARY KEY, k int, v int);
INSERT INTO big SELECT g, g % 5, g FROM generate_series(1, 1000) g;
ANALYZE big;
SELECT ivmx.create_immv('big_k', 'SELECT k, count(*) AS n, sum(v) AS s FROM big GROUP BY k',
                        mode => 'deferred');
\set immv big_k
-- A new deferred IMMV has no history and has never been refreshed.
:history;
SELECT state, pending_rows, refresh_count, last_refresh IS NULL AS never,
       consecutive_failures, last_error, next_attempt
  FROM status WHERE immv = 'big_k'::regclass;

-- explain_immv also shows what a refresh of a deferred IMMV runs: the delta
-- of a batch of the log (read from the batch the refresh registers, not the
-- log) applied by the IMMV's maintenance plan; a batch applied by row key
-- is netted first (a WITH query), one of a grouped view is read as logged.
SELECT regexp_replace(line, '^-- | (on|to) .*$', '', 'g') AS section
  FROM ivmx.explain_immv('big_k') AS line WHERE line ~ '^-- (after|deferred)';
SELECT ivmx.create_immv('big_rows', 'SELECT id, v FROM big', mode => 'deferred');
SELECT immv, count(*) AS statements_reading_batch,
       bool_and(line LIKE 'WITH \_\_ivm\_log0 AS MATERIALIZED %') AS netted,
       bool_and(line NOT LIKE '%ivmx.%delta\_%') AS not_the_log
  FROM unnest(ARRAY['big_k', 'big_rows']) AS immv, ivmx.explain_immv(immv::regclass) AS line
 WHERE line LIKE '%\_\_ivm\_batch\_%' GROUP BY immv ORDER BY immv;
DROP TABLE big_rows;

-- Each flush that applies something is one history row.
UPDATE big SET v = v + 1 WHERE id <= 3;
SELECT ivmx.flush('big_k');
INSERT INTO big VALUES (1001, 0, 1);
SELECT ivmx.flush('big_k');
-- Nothing pending: no refresh, no history row.
SELECT ivmx.flush('big_k');
:history;
SELECT ivmx.verify_immv('big_k');
SELECT state, pending_rows, refresh_count, last_refresh IS NOT NULL AS refreshed,
       last_duration >= interval '0' AS has_duration, consecutive_failures, last_error
  FROM status WHERE immv = 'big_k'::regclass;

-- ivmx.max_batch_rows: the scheduler drains a larger backlog in several
-- incremental batches, each ending at a snapshot it took earlier (batches
-- follow commit order, which transaction ids do not). While it is switched
-- off it still takes one when woken by a commit: after each commit below,
-- a pause lets it. With at most 3 log rows per batch, five transactions of
-- 2 rows and one of 4 drain in six batches of one transaction each (a batch
-- always takes at least one transaction).
ALTER SYSTEM SET ivmx.max_batch_rows = 3;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SHOW ivmx.max_batch_rows;
\set pause 'SELECT pg_sleep(0.3) \\g /dev/null'
UPDATE big SET v = v + 1 WHERE id = 1;
:pause
UPDATE big SET v = v + 1 WHERE id = 2;
:pause
UPDATE big SET k = 4 WHERE id = 3;
:pause
INSERT INTO big VALUES (1002, 1, 5), (1003, 2, 5), (1004, 3, 5), (1005, 9, 5);
:pause
DELETE FROM big WHERE id IN (4, 5);
:pause
UPDATE big SET v = -v WHERE id = 1002;
:pause
SELECT pending_rows FROM status WHERE immv = 'big_k'::regclass;
SELECT ivmx.verify_immv('big_k') > 0 AS behind;
-- The scheduler on, until nothing is pending.
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
DO $$
DECLARE deadline timestamptz := clock_timestamp() + interval '20 s';
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        EXIT WHEN (SELECT pending_rows FROM deferred_refresh.status WHERE immv = 'deferred_refresh.big_k'::regclass) = 0;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT ivmx.verify_immv('big_k');
SELECT pending_rows FROM status WHERE immv = 'big_k'::regclass;
SELECT rows_consumed, kind, error FROM ivmx.refresh_history
 WHERE immvrelid = 'big_k'::regclass ORDER BY id DESC LIMIT 6;
SELECT k, n, s FROM big_k ORDER BY k;
-- ivmx.flush (and a single transaction larger than the limit) take
-- everything pending in one batch.
UPDATE big SET v = v + 1 WHERE id BETWEEN 10 AND 19;
SELECT ivmx.flush('big_k');
SELECT rows_consumed, kind FROM ivmx.refresh_history
 WHERE immvrelid = 'big_k'::regclass ORDER BY id DESC LIMIT 1;
SELECT ivmx.verify_immv('big_k');
ALTER SYSTEM RESET ivmx.max_batch_rows;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

-- ivmx.full_refresh_ratio: a batch of more log rows than this fraction of
-- the base table's (analyzed) size recomputes the IMMV instead.
CREATE TABLE small (id int PRIMARY KEY, k int, v int);
INSERT INTO small SELECT g, g % 4, g FROM generate_series(1, 100) g;
ANALYZE small;
SELECT reltuples FROM pg_class WHERE oid = 'small'::regclass;
SELECT ivmx.create_immv('small_k',
    'SELECT k, count(*) AS n, sum(v) AS s, max(v) AS hi FROM small GROUP BY k', mode => 'deferred');
\set immv small_k
SHOW ivmx.full_refresh_ratio;
-- 10 log rows of 100: incremental.
UPDATE small SET v = v + 1 WHERE id <= 5;
SELECT ivmx.flush('small_k');
-- 60 log rows of 100 (above 0.2): full.
UPDATE small SET v = 0 WHERE id <= 30;
SELECT ivmx.flush('small_k');
:history;
SELECT ivmx.verify_immv('small_k');
SELECT k, n, s, hi FROM small_k ORDER BY k;
-- A full refresh after deletes and inserts is also exact.
DELETE FROM small WHERE id > 50;
INSERT INTO small VALUES (1000, 7, 7);
SELECT ivmx.flush('small_k');
SELECT rows_consumed, kind FROM ivmx.refresh_history
 WHERE immvrelid = 'small_k'::regclass ORDER BY id DESC LIMIT 1;
SELECT ivmx.verify_immv('small_k');
SELECT k, n, s, hi FROM small_k ORDER BY k;
-- A ratio of 0 never recomputes by size; a tiny one always does.
ALTER SYSTEM SET ivmx.full_refresh_ratio = 0;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
UPDATE small SET v = v + 1;
SELECT ivmx.flush('small_k');
SELECT rows_consumed, kind FROM ivmx.refresh_history
 WHERE immvrelid = 'small_k'::regclass ORDER BY id DESC LIMIT 1;
SELECT ivmx.verify_immv('small_k');
ALTER SYSTEM SET ivmx.full_refresh_ratio = 0.001;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
ANALYZE small;
UPDATE small SET v = v + 1 WHERE id = 1;
SELECT ivmx.flush('small_k');
SELECT rows_consumed, kind FROM ivmx.refresh_history
 WHERE immvrelid = 'small_k'::regclass ORDER BY id DESC LIMIT 1;
SELECT ivmx.verify_immv('small_k');
-- ... but not an IMMV that another IMMV reads: a recompute would pass a
-- change of every row on to it.
SELECT ivmx.create_immv('small_top', 'SELECT k, n FROM small_k WHERE n > 1', mode => 'deferred');
UPDATE small SET v = v + 1 WHERE id = 2;
SELECT ivmx.flush('small_top');
SELECT immvrelid, rows_consumed, kind FROM ivmx.refresh_history
 WHERE immvrelid IN ('small_k'::regclass, 'small_top'::regclass) ORDER BY id DESC LIMIT 2;
SELECT ivmx.verify_immv('small_k'), ivmx.verify_immv('small_top');
DROP TABLE small_top;
ALTER SYSTEM RESET ivmx.full_refresh_ratio;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

-- ivmx.history_limit: only the newest rows per IMMV are kept.
ALTER SYSTEM SET ivmx.history_limit = 2;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
UPDATE small SET v = v + 1 WHERE id = 1;
SELECT ivmx.flush('small_k');
UPDATE small SET v = v + 1 WHERE id = 2;
SELECT ivmx.flush('small_k');
UPDATE small SET v = v + 1 WHERE id = 3;
SELECT ivmx.flush('small_k');
SELECT count(*) AS history_rows FROM ivmx.refresh_history WHERE immvrelid = 'small_k'::regclass;
-- Other IMMVs keep their own rows.
SELECT count(*) AS history_rows FROM ivmx.refresh_history WHERE immvrelid = 'big_k'::regclass;
ALTER SYSTEM RESET ivmx.history_limit;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

-- refresh_immv of a deferred IMMV recomputes it and moves its watermark:
-- the pending changes count as applied, later ones are pending.
UPDATE small SET v = v + 1 WHERE id <= 3;
SELECT pending_rows FROM status WHERE immv = 'small_k'::regclass;
SELECT ivmx.refresh_immv('small_k', true) > 0 AS recomputed;
SELECT ivmx.verify_immv('small_k');
SELECT pending_rows FROM status WHERE immv = 'small_k'::regclass;
SELECT ivmx.flush('small_k');
SELECT kind FROM ivmx.refresh_history WHERE immvrelid = 'small_k'::regclass ORDER BY id DESC LIMIT 1;
UPDATE small SET v = v + 1 WHERE id = 4;
SELECT ivmx.flush('small_k');
SELECT ivmx.verify_immv('small_k');
-- Without data: the IMMV is suspended (empty, nothing applied); with data
-- again it is recomputed and maintained as before.
SELECT ivmx.refresh_immv('small_k', false);
SELECT state, pending_rows FROM status WHERE immv = 'small_k'::regclass;
SELECT count(*) AS rows FROM small_k;
UPDATE small SET v = v + 1 WHERE id = 5;
SELECT ivmx.flush('small_k');
SELECT ivmx.flush();
SELECT count(*) AS rows FROM small_k;
SELECT ivmx.refresh_immv('small_k', true) > 0 AS recomputed;
SELECT state, pending_rows FROM status WHERE immv = 'small_k'::regclass;
SELECT ivmx.verify_immv('small_k');
UPDATE small SET v = v + 1 WHERE id = 6;
SELECT ivmx.flush('small_k');
SELECT ivmx.verify_immv('small_k');

-- A refresh that fails: the view divides by a base column. The writer of a
-- zero is not affected (deferred); the flush raises the error and applies
-- nothing; other IMMVs can still be flushed.
\set VERBOSITY terse
CREATE TABLE ratios (k int, v int);
INSERT INTO ratios VALUES (1, 1), (1, 2), (2, 4);
SELECT ivmx.create_immv('inverse', 'SELECT k, sum(100 / v) AS s FROM ratios GROUP BY k',
                        mode => 'deferred');
\set immv inverse
INSERT INTO ratios VALUES (2, 0);
SELECT ivmx.flush('inverse');
SELECT pending_rows FROM status WHERE immv = 'inverse'::regclass;
SELECT k, s FROM inverse ORDER BY k;
SELECT ivmx.flush();
UPDATE small SET v = v + 1 WHERE id = 7;
SELECT ivmx.flush('small_k');
SELECT ivmx.verify_immv('small_k');
-- The failed flushes left no trace (they were rolled back).
SELECT state, refresh_count, consecutive_failures, last_error
  FROM status WHERE immv = 'inverse'::regclass;
:history;
-- Still failing while the zero is there, also with later good rows.
INSERT INTO ratios VALUES (1, 4);
SELECT ivmx.flush('inverse');
-- Once the row is deleted the backlog nets to good rows only: the flush
-- succeeds and the IMMV is exact.
DELETE FROM ratios WHERE v = 0;
SELECT ivmx.flush('inverse');
SELECT ivmx.verify_immv('inverse');
SELECT pending_rows FROM status WHERE immv = 'inverse'::regclass;
SELECT k, s FROM inverse ORDER BY k;
:history;
\set VERBOSITY default

-- refresh_history.rows_changed counts the IMMV rows a refresh wrote.
CREATE TABLE counted (k int, v int);
SELECT ivmx.create_immv('counted_k', 'SELECT k, count(*) AS n FROM counted GROUP BY k',
                        mode => 'deferred');
INSERT INTO counted VALUES (1, 1), (2, 2), (3, 3);
SELECT ivmx.flush('counted_k');
SELECT rows_consumed, rows_changed, kind FROM ivmx.refresh_history
 WHERE immvrelid = 'counted_k'::regclass ORDER BY id;

-- A batch is netted before the view's expressions are evaluated; rows
-- equal by their type's equality but not identical (numeric 1.00 and 1.0)
-- must not cancel out when the view shows the difference.
CREATE TABLE amounts (id int PRIMARY KEY, v numeric);
INSERT INTO amounts VALUES (1, 1.00), (2, 2.50);
SELECT ivmx.create_immv('amount_text', 'SELECT id, v::text AS vt FROM amounts', mode => 'deferred');
SELECT ivmx.create_immv('amount_texts', 'SELECT v::text AS vt, count(*) AS n FROM amounts GROUP BY v::text',
                        mode => 'deferred');
UPDATE amounts SET v = 1.0 WHERE id = 1;
UPDATE amounts SET v = 2.5000 WHERE id = 2;
SELECT ivmx.flush('amount_text') AS amount_text, ivmx.flush('amount_texts') AS amount_texts;
SELECT ivmx.verify_immv('amount_text') AS amount_text, ivmx.verify_immv('amount_texts') AS amount_texts;
SELECT id, vt FROM amount_text ORDER BY id;
SELECT vt, n FROM amount_texts ORDER BY vt;

-- A log row holds a copy of its row, values stored out of line included:
-- the refresh reads them after the base row is gone and vacuumed away.
CREATE TABLE docs (id int PRIMARY KEY, body text);
ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
SELECT ivmx.create_immv('doc_sizes', 'SELECT id, length(body) AS len, md5(body) AS h FROM docs',
                        mode => 'deferred');
SELECT logrelid AS doclog FROM ivmx.delta_log WHERE relid = 'docs'::regclass \gset
INSERT INTO docs VALUES (1, repeat('abcdefghij', 1000)), (2, repeat('x', 5000));
UPDATE docs SET id = 3 WHERE id = 1;
DELETE FROM docs WHERE id = 3;
VACUUM docs;
SELECT __ivm_sign, count(*), count(DISTINCT __ivm_seq) AS positions, sum(length(body)) AS chars
  FROM :doclog GROUP BY __ivm_sign ORDER BY __ivm_sign;
SELECT ivmx.flush('doc_sizes');
SELECT ivmx.verify_immv('doc_sizes');
SELECT id, len FROM doc_sizes ORDER BY id;
-- A log somebody indexed is written through SQL instead (a heap insert
-- would leave the index behind), with the same result.
CREATE INDEX ON :doclog (__ivm_xid);
INSERT INTO docs VALUES (4, repeat('y', 3000));
UPDATE docs SET body = body || 'z' WHERE id = 2;
SELECT __ivm_sign, count(*), sum(length(body)) AS chars
  FROM :doclog GROUP BY __ivm_sign ORDER BY __ivm_sign;
SELECT ivmx.flush('doc_sizes');
SELECT ivmx.verify_immv('doc_sizes');
SELECT id, len FROM doc_sizes ORDER BY id;

-- Statements of many rows are logged in batches of inserts: values of every
-- width (short and out-of-line text, numeric, NULL) survive the batching,
-- in the log of a table and in the log an IMMV's refresh writes for the
-- deferred IMMV that reads it.
CREATE TABLE notes (id int PRIMARY KEY, grp int, amount numeric, note text);
ALTER TABLE notes ALTER COLUMN note SET STORAGE EXTERNAL;
INSERT INTO notes
SELECT g, g % 7, CASE WHEN g % 11 = 0 THEN NULL ELSE g / 3.0 END,
       CASE WHEN g % 500 = 0 THEN repeat(md5(g::text), 100)
            WHEN g % 13 = 0 THEN NULL ELSE 'n' || g END
  FROM generate_series(1, 2500) g;
SELECT ivmx.create_immv('notes_mid', 'SELECT id, grp, amount, note FROM notes', mode => 'deferred');
SELECT ivmx.create_immv('notes_top',
    'SELECT grp, count(note) AS notes, sum(amount) AS total, max(length(note)) AS longest, '
    'min(note) AS first FROM notes_mid GROUP BY grp', mode => 'deferred');
UPDATE notes SET amount = amount + 1, note = note || '+';
DELETE FROM notes WHERE id % 10 = 0;
INSERT INTO notes SELECT g, g % 3, g, repeat('w', g % 4000) FROM generate_series(3001, 4200) g;
SELECT logrelid AS notelog FROM ivmx.delta_log WHERE relid = 'notes'::regclass \gset
SELECT __ivm_sign, count(*), count(DISTINCT __ivm_seq) AS positions, count(note) AS notes
  FROM :notelog GROUP BY __ivm_sign ORDER BY __ivm_sign;
SELECT ivmx.flush('notes_top');
SELECT ivmx.verify_immv('notes_mid') AS notes_mid, ivmx.verify_immv('notes_top') AS notes_top;
SELECT (SELECT count(*) FROM notes_mid) AS mid_rows,
       (SELECT sum(length(note)) FROM notes_mid) = (SELECT sum(length(note)) FROM notes) AS same_chars;

-- Dropping the schema drops every IMMV and base table of this file, with
-- their catalog rows and delta logs.
SET client_min_messages = warning;
DROP SCHEMA deferred_refresh CASCADE;
RESET client_min_messages;
RESET search_path;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
SELECT count(*) AS orphan_logs FROM ivmx.delta_log l
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = l.relid);
:logtables;

ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
