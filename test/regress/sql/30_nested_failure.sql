CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- The scheduler and nested deferred IMMVs: it brings a chain forward
-- upstream first, and a deferred IMMV whose refresh fails blocks the IMMVs
-- downstream of it. fa divides by a base column; fb reads fa and the base
-- table u; fc reads fb; fd is an immediate IMMV over fa; other reads u
-- only. With a zero in r, a flush of fa (or of anything downstream of it,
-- which brings fa forward first) fails and leaves no trace. The scheduler
-- records the failure: fa is 'failing', every IMMV downstream of it is
-- 'upstream_failed' and is not refreshed past it, while other keeps being
-- refreshed. Once the zero is gone the scheduler brings everything
-- forward. The scheduler is off except where this file waits for it (in
-- loops that end as soon as the awaited state is there, or after 10 s);
-- retries are at most 500 ms apart.
ALTER SYSTEM SET ivmx.enabled = off;
ALTER SYSTEM SET ivmx.max_retry_interval = 500;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

CREATE TABLE r (id int PRIMARY KEY, k int, v int);
CREATE TABLE u (k int PRIMARY KEY, label text);
INSERT INTO r VALUES (1, 1, 1), (2, 1, 4), (3, 2, 5), (4, 3, 10);
INSERT INTO u VALUES (1, 'one'), (2, 'two'), (3, 'odd');
SET client_min_messages = warning;  -- fb and fd get no automatic index
SELECT ivmx.create_immv('fa', 'SELECT k, count(*) AS n, sum(100 / v) AS s FROM r GROUP BY k',
                        mode => 'deferred');
SELECT ivmx.create_immv('fb', 'SELECT fa.k, u.label, fa.s FROM fa JOIN u ON fa.k = u.k',
                        mode => 'deferred');
SELECT ivmx.create_immv('fc', 'SELECT label, count(*) AS n, sum(s) AS s FROM fb GROUP BY label',
                        mode => 'deferred');
SELECT ivmx.create_immv('fd', 'SELECT k, s FROM fa WHERE n > 1');
SELECT ivmx.create_immv('other', 'SELECT label, count(*) AS n FROM u GROUP BY label',
                        mode => 'deferred');
RESET client_min_messages;
SELECT immv, reads, reads_immv FROM ivmx.immv_dependencies ORDER BY immv::text, reads::text;
\set status 'SELECT immv, mode, state, pending_rows, depth, upstream FROM ivmx.immv_status ORDER BY depth, immv::text'
\set verify 'SELECT ivmx.verify_immv(''fa'') AS fa, ivmx.verify_immv(''fb'') AS fb, ivmx.verify_immv(''fc'') AS fc, ivmx.verify_immv(''fd'') AS fd, ivmx.verify_immv(''other'') AS other'
-- While r holds a zero, fa's own query fails: check the others only.
\set verify_below 'SELECT ivmx.verify_immv(''fb'') AS fb, ivmx.verify_immv(''fc'') AS fc, ivmx.verify_immv(''fd'') AS fd, ivmx.verify_immv(''other'') AS other'
-- Waits until no IMMV has pending rows or a failure.
\set settle 'DO $$ DECLARE deadline timestamptz := clock_timestamp() + interval ''10 s''; BEGIN WHILE clock_timestamp() < deadline LOOP EXIT WHEN NOT EXISTS (SELECT FROM ivmx.immv_status WHERE state <> ''ok'' OR pending_rows > 0); PERFORM pg_sleep(0.1); END LOOP; END $$'
:status;
:verify;

-- Without failures, the scheduler brings the whole graph forward:
-- fa, then fb (and fd, immediate, with fa), then fc.
INSERT INTO r VALUES (5, 1, 50), (6, 3, 25);
UPDATE u SET label = 'three' WHERE k = 3;
:verify;
ALTER SYSTEM SET ivmx.enabled = on;
SELECT pg_reload_conf();
:settle;
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
:status;
:verify;
SELECT label, n, s FROM fc ORDER BY label;

-- A zero in r: the writer is not affected, the flushes fail.
INSERT INTO r VALUES (7, 1, 0), (8, 2, 20);
:verify_below;
\set VERBOSITY terse
SELECT ivmx.flush('fa');
SELECT ivmx.flush('fc');
SELECT ivmx.flush();
\set VERBOSITY default
-- The failed flushes were rolled back: no failure recorded.
:status;
SELECT count(*) FROM ivmx.refresh_history WHERE error IS NOT NULL;

-- Let the scheduler try: it records the failure of fa; fb, fc and fd are
-- upstream_failed.
ALTER SYSTEM SET ivmx.enabled = on;
SELECT pg_reload_conf();
DO $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 s';
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        EXIT WHEN (SELECT state FROM ivmx.immv_status WHERE immv = 'fa'::regclass) = 'failing';
        PERFORM pg_sleep(0.1);
    END LOOP;
END;
$$;
:status;
SELECT immv, consecutive_failures > 0 AS failed, last_error, next_attempt IS NOT NULL AS retry_planned
  FROM ivmx.immv_status ORDER BY depth, immv::text;
SELECT DISTINCT error FROM ivmx.refresh_history
 WHERE immvrelid = 'fa'::regclass AND error IS NOT NULL;
-- fb, fc and fd still equal their queries over the unchanged fa.
:verify_below;

-- A change to u gives fb (downstream of fa) and other pending rows. The
-- scheduler refreshes other; fb is not refreshed past the failing fa.
UPDATE u SET label = 'uneven' WHERE k = 3;
DO $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '10 s';
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        EXIT WHEN (SELECT pending_rows FROM ivmx.immv_status WHERE immv = 'other'::regclass) = 0;
        PERFORM pg_sleep(0.1);
    END LOOP;
END;
$$;
:status;
SELECT ivmx.verify_immv('other') AS other, ivmx.verify_immv('fb') > 0 AS fb_behind;
SELECT label, n FROM other ORDER BY label;

-- Without the zero, the scheduler brings fa forward, then fb and fc: the
-- batch of fa nets the zero's insertion and deletion to nothing.
DELETE FROM r WHERE v = 0;
:settle;
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
:status;
SELECT immv, consecutive_failures, last_error, next_attempt FROM ivmx.immv_status ORDER BY depth, immv::text;
:verify;
SELECT k, label, s FROM fb ORDER BY k;
SELECT label, n, s FROM fc ORDER BY label;
SELECT k, s FROM fd ORDER BY k;

SET client_min_messages = warning;
DROP TABLE r, u CASCADE;
RESET client_min_messages;
SELECT count(*) FROM ivmx.immv;
ALTER SYSTEM RESET ivmx.max_retry_interval;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
