CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Nested IMMVs beyond a chain: a diamond (an IMMV joining two IMMVs that
-- read the same base table, so one base statement reaches it along both
-- paths) in all eight combinations of modes, and fan-out (two IMMVs, one
-- immediate and one deferred, reading one IMMV). ivmx.immv_dependencies
-- lists the edges; ivmx.immv_status shows depth and direct upstream IMMVs.
-- After each statement every IMMV is checked with verify_immv: immediate
-- ones at once, deferred ones after ivmx.flush of the leaf, which brings
-- the deferred IMMVs upstream of it forward first. The scheduler is
-- switched off for this file: only ivmx.flush applies deferred changes.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

CREATE TABLE shops (shop int PRIMARY KEY, region text);
CREATE TABLE sales (id int PRIMARY KEY, shop int, amount int);
INSERT INTO shops VALUES (1, 'north'), (2, 'north'), (3, 'south'), (4, 'east');
INSERT INTO sales VALUES (1, 1, 10), (2, 1, 60), (3, 2, 75), (4, 2, 80), (5, 3, 5),
                         (6, 3, 55), (7, 4, 20);

-- Diamond d_M over x_M and z_M; z_M reads y_M, and x_M and y_M both read
-- sales. M gives the modes of x, of y and z, and of d: 'idi' has x
-- immediate, y and z deferred, d immediate.
--   x: totals per shop                       (sales)           depth 1
--   y: sales with their region               (sales, shops)    depth 1
--   z: big sales per shop and region         (y)               depth 2
--   d: x joined with z on shop               (x, z)            depth 3
SET client_min_messages = warning;  -- y gets no automatic index
DO $$
DECLARE
    m text;
BEGIN
    FOREACH m IN ARRAY ARRAY['iii', 'iid', 'idi', 'idd', 'dii', 'did', 'ddi', 'ddd'] LOOP
        PERFORM ivmx.create_immv('x_' || m,
            'SELECT shop, count(*) AS n, sum(amount) AS total FROM sales GROUP BY shop',
            mode => CASE substr(m, 1, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END);
        PERFORM ivmx.create_immv('y_' || m,
            'SELECT s.id, s.shop, h.region, s.amount FROM sales s JOIN shops h ON s.shop = h.shop',
            mode => CASE substr(m, 2, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END);
        PERFORM ivmx.create_immv('z_' || m,
            format('SELECT shop, region, count(*) AS big, min(amount) AS low
                      FROM %I WHERE amount >= 50 GROUP BY shop, region', 'y_' || m),
            mode => CASE substr(m, 2, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END);
        PERFORM ivmx.create_immv('d_' || m,
            format('SELECT x.shop, z.region, x.n, x.total, z.big, z.low
                      FROM %I x JOIN %I z ON x.shop = z.shop', 'x_' || m, 'z_' || m),
            mode => CASE substr(m, 3, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END);
    END LOOP;
END;
$$;
RESET client_min_messages;

-- The edges of one diamond, and depth and upstream of every IMMV in it.
SELECT immv, reads, reads_immv FROM ivmx.immv_dependencies
 WHERE immv::text LIKE '%\_idi' ORDER BY immv::text, reads::text;
SELECT immv, mode, depth, upstream FROM ivmx.immv_status
 WHERE immv::text LIKE '%\_idi' ORDER BY depth, immv::text;
-- The same shape for every combination of modes.
SELECT substr(immv::text, 3) AS modes, string_agg(format('%s:%s:%s', substr(immv::text, 1, 1), depth,
           array_to_string(upstream::text[], '+')), ' ' ORDER BY immv::text) AS levels
  FROM ivmx.immv_status GROUP BY 1 ORDER BY 1;
SELECT count(*) AS edges, count(*) FILTER (WHERE reads_immv) AS edges_to_immvs
  FROM ivmx.immv_dependencies;

\set diamonds 'unnest(ARRAY[''iii'', ''iid'', ''idi'', ''idd'', ''dii'', ''did'', ''ddi'', ''ddd'']) WITH ORDINALITY AS dm(m, pos)'
\set verify 'SELECT m AS modes, ivmx.verify_immv((''x_'' || m)::regclass) AS x, ivmx.verify_immv((''y_'' || m)::regclass) AS y, ivmx.verify_immv((''z_'' || m)::regclass) AS z, ivmx.verify_immv((''d_'' || m)::regclass) AS d FROM :diamonds ORDER BY pos'
\set flush 'SELECT count(ivmx.flush((''d_'' || m)::regclass)) AS leaves_flushed FROM :diamonds'
-- Each leaf d_M holds the same rows as d_iii.
CREATE FUNCTION pg_temp.leaf(m text)
    RETURNS TABLE (shop int, region text, n bigint, total bigint, big bigint, low int)
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT shop, region, n, total, big, low FROM %I', 'd_' || m);
END;
$$;
\set leaves 'SELECT m AS modes, (SELECT count(*) FROM ((SELECT * FROM pg_temp.leaf(''iii'') EXCEPT ALL SELECT * FROM pg_temp.leaf(m)) UNION ALL (SELECT * FROM pg_temp.leaf(m) EXCEPT ALL SELECT * FROM pg_temp.leaf(''iii''))) q) AS differs FROM :diamonds ORDER BY pos'
:verify;
SELECT shop, region, n, total, big, low FROM d_iii ORDER BY shop;

-- One INSERT into sales changes x and y (and so z), both paths into d.
INSERT INTO sales VALUES (8, 4, 90), (9, 1, 70), (10, 3, 1);
:verify;
:flush;
:verify;
-- An UPDATE that moves a sale to another shop and makes it big.
UPDATE sales SET shop = 4, amount = 100 WHERE id = 5;
:verify;
:flush;
:verify;
-- An UPDATE of every sale at once.
UPDATE sales SET amount = amount - 10;
:verify;
:flush;
:verify;
-- shops is read by y only: d changes through z alone.
UPDATE shops SET region = 'west' WHERE shop IN (2, 4);
:verify;
:flush;
:verify;
-- A DELETE of every sale of a shop: its rows leave x, y, z and d.
DELETE FROM sales WHERE id IN (3, 4);
:verify;
:flush;
:verify;
SELECT shop, region, n, total, big, low FROM d_iii ORDER BY shop;
:leaves;
-- A writable CTE changing both base tables in one statement.
WITH s AS (INSERT INTO shops VALUES (5, 'south') RETURNING shop)
INSERT INTO sales SELECT 20 + g, shop, 50 * g FROM s, generate_series(1, 3) g;
:verify;
:flush;
:verify;
-- TRUNCATE of the table both paths read, then new rows.
TRUNCATE sales;
:verify;
:flush;
:verify;
INSERT INTO sales VALUES (1, 1, 60), (2, 1, 70), (3, 5, 500), (4, 2, 5);
:verify;
:flush;
:verify;
SELECT shop, region, n, total, big, low FROM d_iii ORDER BY shop;
:leaves;

SET client_min_messages = warning;
DROP TABLE sales, shops CASCADE;
RESET client_min_messages;
SELECT count(*) FROM ivmx.immv;

-- Fan-out: two IMMVs read one IMMV p, one immediate (f_imm) and one
-- deferred (f_def); p itself immediate (p_i) or deferred (p_d).
CREATE TABLE events (id int PRIMARY KEY, kind text, weight int);
INSERT INTO events VALUES (1, 'a', 1), (2, 'a', 2), (3, 'b', 5), (4, 'c', 7);
SELECT ivmx.create_immv('p_i', 'SELECT kind, count(*) AS n, sum(weight) AS w FROM events GROUP BY kind');
SELECT ivmx.create_immv('p_d', 'SELECT kind, count(*) AS n, sum(weight) AS w FROM events GROUP BY kind',
                        mode => 'deferred');
SELECT ivmx.create_immv('f_imm_i', 'SELECT kind, w FROM p_i WHERE n > 1');
SELECT ivmx.create_immv('f_def_i', 'SELECT n, count(*) AS kinds, sum(w) AS w FROM p_i GROUP BY n',
                        mode => 'deferred');
SELECT ivmx.create_immv('f_imm_d', 'SELECT kind, w FROM p_d WHERE n > 1');
SELECT ivmx.create_immv('f_def_d', 'SELECT n, count(*) AS kinds, sum(w) AS w FROM p_d GROUP BY n',
                        mode => 'deferred');
SELECT immv, reads, reads_immv FROM ivmx.immv_dependencies ORDER BY immv::text, reads::text;
SELECT immv, mode, depth, upstream FROM ivmx.immv_status ORDER BY depth, immv::text;
\set verify 'SELECT ivmx.verify_immv(''p_i'') AS p_i, ivmx.verify_immv(''f_imm_i'') AS f_imm_i, ivmx.verify_immv(''f_def_i'') AS f_def_i, ivmx.verify_immv(''p_d'') AS p_d, ivmx.verify_immv(''f_imm_d'') AS f_imm_d, ivmx.verify_immv(''f_def_d'') AS f_def_d'
\set flush 'SELECT ivmx.flush(''f_def_i'') >= 0 AS f_def_i, ivmx.flush(''f_def_d'') >= 0 AS f_def_d'
:verify;
INSERT INTO events VALUES (5, 'b', 1), (6, 'd', 4);
:verify;
:flush;
-- Flushing one branch (f_def_d) brought p_d forward, which moved f_imm_d too.
:verify;
UPDATE events SET kind = 'a' WHERE kind = 'c';
:verify;
-- Flushing the shared upstream IMMV alone: the immediate branch follows
-- at once, the deferred one now lags behind it.
SELECT ivmx.flush('p_d') >= 0 AS flushed;
:verify;
:flush;
:verify;
DELETE FROM events WHERE weight < 3;
:verify;
:flush;
:verify;
TRUNCATE events;
:verify;
:flush;
:verify;
INSERT INTO events VALUES (1, 'x', 3), (2, 'x', 4), (3, 'y', 5);
:verify;
SELECT ivmx.flush() >= 0 AS flushed_all;
:verify;
SELECT kind, w FROM f_imm_d ORDER BY kind;
SELECT n, kinds, w FROM f_def_d ORDER BY n;
SELECT immv, state, pending_rows FROM ivmx.immv_status WHERE mode = 'deferred' ORDER BY immv::text;

DROP TABLE events CASCADE;
SELECT count(*) FROM ivmx.immv;

-- A diamond through the base table itself: e_M joins visits with vx_M, an
-- IMMV over visits, so one statement on visits reaches e_M directly and
-- through vx_M. M gives the modes of vx and e. (At the end of the file, on
-- tables of its own: with both immediate, e was found wrong.)
CREATE TABLE visits (id int PRIMARY KEY, shop int, amount int);
INSERT INTO visits VALUES (1, 1, 10), (2, 1, 20), (3, 2, 5);
SET client_min_messages = warning;  -- e gets no automatic index
SELECT m AS modes,
       ivmx.create_immv('vx_' || m, 'SELECT shop, count(*) AS n, sum(amount) AS total FROM visits GROUP BY shop',
                        mode => CASE substr(m, 1, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END) AS vx_rows,
       ivmx.create_immv('e_' || m, format('SELECT v.id, v.amount, x.n, x.total FROM visits v JOIN %I x ON v.shop = x.shop', 'vx_' || m),
                        mode => CASE substr(m, 2, 1) WHEN 'i' THEN 'immediate' ELSE 'deferred' END) AS e_rows
  FROM unnest(ARRAY['ii', 'id', 'di', 'dd']) m;
RESET client_min_messages;
SELECT immv, mode, depth, upstream FROM ivmx.immv_status ORDER BY immv::text;
\set pairs 'unnest(ARRAY[''ii'', ''id'', ''di'', ''dd'']) WITH ORDINALITY AS pr(m, pos)'
\set verify 'SELECT m AS modes, ivmx.verify_immv((''vx_'' || m)::regclass) AS vx, ivmx.verify_immv((''e_'' || m)::regclass) AS e FROM :pairs ORDER BY pos'
\set flush 'SELECT count(ivmx.flush((''e_'' || m)::regclass)) AS leaves_flushed FROM :pairs'
:verify;
INSERT INTO visits VALUES (4, 1, 30);
:verify;
:flush;
:verify;
UPDATE visits SET amount = amount + 1;
:verify;
:flush;
:verify;
DELETE FROM visits WHERE id = 1;
:verify;
:flush;
:verify;
SELECT id, amount, n, total FROM e_ii ORDER BY id;
SET client_min_messages = warning;
DROP TABLE visits CASCADE;
RESET client_min_messages;
SELECT count(*) FROM ivmx.immv;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
