CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Operations on an IMMV in the middle of a chain base -> a -> b -> c:
-- refresh_immv of b (with and without data), set_mode of b in both
-- directions while changes are pending, and DROP TABLE of a read IMMV
-- (refused without CASCADE; with CASCADE the dependents and their catalog
-- rows go). Chain M reads accounts and groups; M gives the modes of a, b
-- and c: 'idi' has a immediate, b deferred, c immediate. After each step
-- every level is checked with verify_immv: immediate levels at once,
-- deferred ones after ivmx.flush of the leaf. The scheduler is switched
-- off for this file: only ivmx.flush applies deferred changes.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

CREATE TABLE groups (grp int PRIMARY KEY, name text);
CREATE TABLE accounts (id int PRIMARY KEY, grp int, bal int);
INSERT INTO groups VALUES (1, 'red'), (2, 'green'), (3, 'blue');
INSERT INTO accounts VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30), (4, 3, 40), (5, 3, 50), (6, 2, 5);

CREATE FUNCTION pg_temp.chain(m text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ivmx.create_immv('a_' || m,
        'SELECT a.id, g.name, a.bal FROM accounts a JOIN groups g ON a.grp = g.grp',
        mode => CASE substr(m, 1, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END);
    PERFORM ivmx.create_immv('b_' || m,
        format('SELECT name, count(*) AS n, sum(bal) AS total FROM %I GROUP BY name', 'a_' || m),
        mode => CASE substr(m, 2, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END);
    PERFORM ivmx.create_immv('c_' || m,
        format('SELECT name, total FROM %I WHERE n >= 2', 'b_' || m),
        mode => CASE substr(m, 3, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END);
END;
$$;
SET client_min_messages = warning;  -- a and c get no automatic index
SELECT pg_temp.chain(m) FROM unnest(ARRAY['iii', 'idi', 'did', 'ddd']) m;
RESET client_min_messages;
\set chains 'unnest(ARRAY[''iii'', ''idi'', ''did'', ''ddd'']) WITH ORDINALITY AS ch(m, pos)'
\set verify 'SELECT m AS chain, ivmx.verify_immv((''a_'' || m)::regclass) AS a, ivmx.verify_immv((''b_'' || m)::regclass) AS b, ivmx.verify_immv((''c_'' || m)::regclass) AS c FROM :chains ORDER BY pos'
CREATE FUNCTION pg_temp.row_count(rel text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %I', rel) INTO n;
    RETURN n;
END;
$$;
\set flush 'SELECT count(ivmx.flush((''c_'' || m)::regclass)) AS leaves_flushed FROM :chains'
:verify;

-- refresh_immv of b while changes are pending below it. An immediate c
-- follows the recomputed b at once; a deferred c after the flush (which
-- also brings a deferred a forward, and then b again incrementally).
UPDATE accounts SET bal = bal + 1 WHERE grp = 1;
INSERT INTO accounts VALUES (7, 1, 70);
:verify;
SELECT m AS chain, ivmx.refresh_immv('b_' || m) AS b_rows FROM :chains ORDER BY pos;
:verify;
:flush;
:verify;
SELECT name, total FROM c_iii ORDER BY name;

-- refresh_immv(b, false) empties b and suspends its maintenance; c, which
-- reads b, follows to empty (at once, or after the flush).
SELECT m AS chain, ivmx.refresh_immv('b_' || m, false) AS b_rows FROM :chains ORDER BY pos;
SELECT immv, mode, state FROM ivmx.immv_status WHERE immv::text LIKE 'b\_%' ORDER BY immv::text;
-- b cannot be verified while it is not populated: check a and c, and
-- count c's rows.
\set verify_ac 'SELECT m AS chain, ivmx.verify_immv((''a_'' || m)::regclass) AS a, ivmx.verify_immv((''c_'' || m)::regclass) AS c, pg_temp.row_count(''c_'' || m) AS c_rows FROM :chains ORDER BY pos'
:verify_ac;
:flush;
:verify_ac;
-- Changes while b is suspended reach a, not b (nor c).
DELETE FROM accounts WHERE id = 3;
UPDATE groups SET name = 'yellow' WHERE grp = 3;
:verify_ac;
:flush;
:verify_ac;
-- Refreshing b with data resumes it; c follows.
SELECT m AS chain, ivmx.refresh_immv('b_' || m, true) AS b_rows FROM :chains ORDER BY pos;
SELECT immv, mode, state FROM ivmx.immv_status WHERE immv::text LIKE 'b\_%' ORDER BY immv::text;
:verify;
:flush;
:verify;
INSERT INTO accounts VALUES (8, 2, 8);
:verify;
:flush;
:verify;
SELECT name, total FROM c_iii ORDER BY name;
SELECT m AS chain, (SELECT count(*) FROM ivmx.immv_status WHERE immv::text LIKE '%\_' || m AND pending_rows > 0) AS pending
  FROM :chains ORDER BY pos;

-- set_mode of b, immediate -> deferred, while a deferred a has pending
-- changes: the flush of c brings a, then b, forward.
UPDATE accounts SET bal = bal * 2 WHERE id IN (1, 4);
:verify;
SELECT m AS chain, ivmx.set_mode(('b_' || m)::regclass, 'deferred') FROM :chains WHERE substr(m, 2, 1) = 'i' ORDER BY pos;
SELECT immv, mode FROM ivmx.immv_status WHERE immv::text LIKE 'b\_%' ORDER BY immv::text;
:verify;
-- Changes after the switch are logged for b.
UPDATE accounts SET grp = 1 WHERE id = 8;
:verify;
:flush;
:verify;
-- set_mode of b, deferred -> immediate, while b has pending changes (a
-- was brought forward alone): the switch applies them in its transaction,
-- an immediate c follows at once.
INSERT INTO accounts VALUES (9, 3, 9), (10, 2, 100);
SELECT m AS chain, ivmx.flush(('a_' || m)::regclass) >= 0 AS a_flushed FROM :chains ORDER BY pos;
:verify;
SELECT m AS chain, ivmx.set_mode(('b_' || m)::regclass, 'immediate') FROM :chains ORDER BY pos;
:verify;
:flush;
:verify;
-- And in one transaction with the change it must apply.
BEGIN;
DELETE FROM accounts WHERE id = 1;
SELECT m AS chain, ivmx.flush(('a_' || m)::regclass) >= 0 AS a_flushed FROM :chains ORDER BY pos;
SELECT m AS chain, ivmx.set_mode(('b_' || m)::regclass, 'deferred') FROM :chains ORDER BY pos;
UPDATE accounts SET bal = 0 WHERE id = 2;
:verify;
:flush;
:verify;
COMMIT;
:verify;
UPDATE accounts SET bal = 1 WHERE id = 2;
BEGIN;
SELECT m AS chain, ivmx.set_mode(('b_' || m)::regclass, 'immediate') FROM :chains ORDER BY pos;
:verify;
COMMIT;
:flush;
:verify;
SELECT name, total FROM c_iii ORDER BY name;
-- Back to the modes the chains are named after.
SELECT m AS chain, ivmx.set_mode(('b_' || m)::regclass, 'deferred') FROM :chains WHERE substr(m, 2, 1) = 'd' ORDER BY pos;
SELECT immv, mode, pending_rows FROM ivmx.immv_status ORDER BY substr(immv::text, 3), immv::text;

-- Renaming an IMMV that another IMMV reads, or one of its columns, keeps
-- the chain maintained.
ALTER TABLE b_ddd RENAME TO b_ddd_renamed;
ALTER TABLE b_iii RENAME COLUMN total TO sum_bal;
SELECT ivmx.get_immv_def('c_iii');
UPDATE accounts SET bal = bal + 3 WHERE id IN (2, 5);
SELECT ivmx.flush('c_ddd') >= 0 AS flushed;
SELECT ivmx.verify_immv('b_iii') AS b_iii, ivmx.verify_immv('c_iii') AS c_iii,
       ivmx.verify_immv('a_ddd') AS a_ddd, ivmx.verify_immv('b_ddd_renamed') AS b_ddd,
       ivmx.verify_immv('c_ddd') AS c_ddd;
ALTER TABLE b_ddd_renamed RENAME TO b_ddd;
ALTER TABLE b_iii RENAME COLUMN sum_bal TO total;

-- DROP TABLE of an IMMV that another IMMV reads is refused, naming it.
DROP TABLE a_idi;
DROP TABLE b_ddd;
DROP TABLE a_iii, b_iii;
SELECT count(*) FROM ivmx.immv;
-- Delta logs are kept for the relations that deferred IMMVs read.
SELECT relid FROM ivmx.delta_log ORDER BY relid::text;
-- The leaf has no dependents: dropped alone, with its catalog rows, and
-- b_iii, which nothing reads any more, loses its capture triggers.
SELECT count(*) > 0 AS b_iii_captured FROM pg_trigger
 WHERE tgrelid = 'b_iii'::regclass AND tgfoid = 'ivmx.capture_trigger'::regproc;
DROP TABLE c_iii;
SELECT count(*) FROM ivmx.immv;
SELECT count(*) FROM ivmx.immv_dependency WHERE relid = 'b_iii'::regclass;
SELECT count(*) > 0 AS b_iii_captured FROM pg_trigger
 WHERE tgrelid = 'b_iii'::regclass AND tgfoid = 'ivmx.capture_trigger'::regproc;
-- Dropping every level of a chain in one statement needs no CASCADE.
DROP TABLE c_did, b_did, a_did;
SELECT count(*) FROM ivmx.immv;
-- CASCADE drops the dependents and their catalog rows.
DROP TABLE a_idi CASCADE;
DROP TABLE b_ddd CASCADE;
SELECT count(*) FROM ivmx.immv;
SELECT immv, mode, depth, upstream FROM ivmx.immv_status ORDER BY immv::text;
SELECT immv, reads, reads_immv FROM ivmx.immv_dependencies ORDER BY immv::text, reads::text;
SELECT relid FROM ivmx.delta_log ORDER BY relid::text;
-- What is left is still maintained.
UPDATE accounts SET bal = bal + 1;
SELECT ivmx.flush('a_ddd') >= 0 AS flushed;
SELECT ivmx.verify_immv('a_iii') AS a_iii, ivmx.verify_immv('b_iii') AS b_iii, ivmx.verify_immv('a_ddd') AS a_ddd;

SET client_min_messages = warning;
DROP TABLE accounts, groups CASCADE;
RESET client_min_messages;
SELECT count(*) FROM ivmx.immv;
SELECT count(*) FROM ivmx.immv_dependency;
SELECT count(*) FROM ivmx.delta_log;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
