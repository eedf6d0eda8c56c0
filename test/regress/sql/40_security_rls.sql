CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Row-level security. An IMMV holds exactly what its query returns for its
-- owner, as a materialized view refreshed by that owner would: rows the
-- owner's policies hide never reach it, neither from the statements that
-- change the table (immediate) nor from the delta log (deferred). The
-- table's owner writes rows for two tenants; each tenant's IMMVs must show
-- only its own rows, after every change. verify_immv runs the query as the
-- IMMV's owner, so 0 means "equal to what the owner may see".
-- The scheduler is off: deferred IMMVs are brought forward with flush.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_landlord;
DROP ROLE IF EXISTS regress_ivmx_tenant_a;
DROP ROLE IF EXISTS regress_ivmx_tenant_b;
CREATE ROLE regress_ivmx_landlord LOGIN;
CREATE ROLE regress_ivmx_tenant_a LOGIN;
CREATE ROLE regress_ivmx_tenant_b LOGIN;
CREATE SCHEMA rls AUTHORIZATION regress_ivmx_landlord;
GRANT USAGE, CREATE ON SCHEMA rls TO regress_ivmx_tenant_a, regress_ivmx_tenant_b;

\c - regress_ivmx_landlord
SET search_path = rls;
CREATE TABLE docs (id int PRIMARY KEY, tenant name NOT NULL, topic text, words int);
CREATE TABLE topics (topic text PRIMARY KEY, title text);
INSERT INTO topics VALUES ('a', 'Alpha'), ('b', 'Beta');
INSERT INTO docs VALUES (1, 'regress_ivmx_tenant_a', 'a', 10), (2, 'regress_ivmx_tenant_b', 'a', 20),
                        (3, 'regress_ivmx_tenant_a', 'b', 30), (4, 'regress_ivmx_tenant_b', 'b', 40);
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
-- Each tenant sees its rows; a restrictive policy also hides secret topics.
CREATE POLICY own ON docs FOR SELECT USING (tenant = current_user);
CREATE POLICY no_secrets ON docs AS RESTRICTIVE FOR SELECT USING (topic <> 'secret');
GRANT SELECT, TRIGGER ON docs, topics TO regress_ivmx_tenant_a, regress_ivmx_tenant_b;

-- Tenant a: an aggregate (immediate), a bag (deferred), a join with the
-- protected table on the side that does not change (immediate).
\c - regress_ivmx_tenant_a
SET search_path = rls;
SELECT ivmx.create_immv('rls.a_words', 'SELECT topic, count(*) AS n, sum(words) AS words FROM rls.docs GROUP BY topic');
SELECT ivmx.create_immv('rls.a_docs', 'SELECT id, topic, words FROM rls.docs', mode => 'deferred');
SELECT ivmx.create_immv('rls.a_titles', 'SELECT d.id, t.title FROM rls.docs d JOIN rls.topics t ON t.topic = d.topic');
-- Tenant b: the same aggregate.
\c - regress_ivmx_tenant_b
SELECT ivmx.create_immv('rls.b_words', 'SELECT topic, count(*) AS n, sum(words) AS words FROM rls.docs GROUP BY topic');

\c - :admin
SET search_path = rls;
\set verify 'SELECT ivmx.verify_immv(''a_words'') AS a_words, ivmx.flush(''a_docs'') >= 0 AND ivmx.verify_immv(''a_docs'') = 0 AS a_docs_flushed_ok, ivmx.verify_immv(''a_titles'') AS a_titles, ivmx.verify_immv(''b_words'') AS b_words'
\set show 'SELECT ''a'' AS who, topic, n, words FROM a_words UNION ALL SELECT ''b'', topic, n, words FROM b_words ORDER BY 1, 2'
:verify;
:show;

-- The landlord writes rows of both tenants, moves rows between them, and
-- marks one secret.
\c - regress_ivmx_landlord
SET search_path = rls;
INSERT INTO docs VALUES (5, 'regress_ivmx_tenant_a', 'a', 50), (6, 'regress_ivmx_tenant_b', 'b', 60);
UPDATE docs SET tenant = 'regress_ivmx_tenant_a' WHERE id = 2;
UPDATE docs SET topic = 'secret' WHERE id = 3;
DELETE FROM docs WHERE id = 4;
UPDATE topics SET title = 'Alpha 2' WHERE topic = 'a';
\c - :admin
SET search_path = rls;
:verify;
:show;
SELECT id, topic, words FROM a_docs ORDER BY id;
SELECT id, title FROM a_titles ORDER BY id;

-- A tenant reading its IMMV sees nothing of the other tenant's rows.
\c - regress_ivmx_tenant_a
SELECT sum(n) AS rows_seen, (SELECT count(*) FROM rls.docs) AS rows_readable FROM rls.a_words;

-- A policy added later applies to the next changes (and verify, which runs
-- the query as the owner, shows the IMMV is then recomputed to match).
\c - regress_ivmx_landlord
SET search_path = rls;
CREATE POLICY small_only ON docs AS RESTRICTIVE FOR SELECT TO regress_ivmx_tenant_a USING (words < 45);
INSERT INTO docs VALUES (7, 'regress_ivmx_tenant_a', 'a', 70), (8, 'regress_ivmx_tenant_a', 'a', 8);
\c - regress_ivmx_tenant_a
SELECT ivmx.refresh_immv('rls.a_words');
SELECT ivmx.refresh_immv('rls.a_titles');
SELECT ivmx.refresh_immv('rls.a_docs');
\c - regress_ivmx_landlord
SET search_path = rls;
INSERT INTO docs VALUES (9, 'regress_ivmx_tenant_a', 'b', 90), (10, 'regress_ivmx_tenant_a', 'b', 9);
DELETE FROM docs WHERE id = 8;
\c - :admin
SET search_path = rls;
:verify;
:show;
SELECT id, topic, words FROM a_docs ORDER BY id;

-- With row security switched off for the table, every row counts.
\c - regress_ivmx_landlord
SET search_path = rls;
ALTER TABLE docs DISABLE ROW LEVEL SECURITY;
INSERT INTO docs VALUES (11, 'regress_ivmx_tenant_b', 'a', 1);
\c - regress_ivmx_tenant_a
SELECT ivmx.refresh_immv('rls.a_words');
SELECT ivmx.refresh_immv('rls.a_titles');
SELECT ivmx.refresh_immv('rls.a_docs');
\c - regress_ivmx_tenant_b
SELECT ivmx.refresh_immv('rls.b_words');
\c - regress_ivmx_landlord
SET search_path = rls;
INSERT INTO docs VALUES (12, 'regress_ivmx_tenant_b', 'b', 2);
\c - :admin
SET search_path = rls;
:verify;
:show;

SET client_min_messages = warning;
DROP SCHEMA rls CASCADE;
RESET client_min_messages;
DROP ROLE regress_ivmx_landlord;
DROP ROLE regress_ivmx_tenant_a;
DROP ROLE regress_ivmx_tenant_b;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
