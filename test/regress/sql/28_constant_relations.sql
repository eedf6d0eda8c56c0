CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Relations that never change: SELECT without FROM, and functions in FROM
-- that are immutable and read no other FROM item (generate_series(1, 3),
-- unnest of a constant array, ROWS FROM, WITH ORDINALITY, a user's
-- immutable SQL function), alone or joined with tables (inner, outer, semi-
-- and anti-joins), in bag, DISTINCT, grouped and aggregate shapes, in
-- immediate and deferred mode (c_* and cd_*), and nested. Such a function
-- gets no trigger, log, lock or dependency edge; every delta reads it in
-- full. :check compares every IMMV that has no change pending (its own or
-- upstream) with its query (with verify_immv and by the text form of its
-- visible columns) and names those that differ; after :flush none is
-- lagging. The scheduler is off except where this file waits for it:
-- ivmx.flush applies deferred changes.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
CREATE SCHEMA constants;
SET search_path = constants, public;

CREATE FUNCTION text_diff(immv regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cols text;
    def text := ivmx.get_immv_def(immv);
    n bigint;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
      FROM pg_attribute WHERE attrelid = immv AND attnum > 0 AND NOT attisdropped AND attname NOT LIKE '\_\_ivm%';
    EXECUTE format('SELECT count(*) FROM ((SELECT ROW(%s)::text FROM %s EXCEPT ALL SELECT q::text FROM (%s) q) '
                   'UNION ALL (SELECT q::text FROM (%s) q EXCEPT ALL SELECT ROW(%s)::text FROM %s)) d',
                   cols, immv, def, def, cols, immv) INTO n;
    RETURN n;
END $$;
CREATE VIEW immvs AS
SELECT i.immvrelid AS immv FROM ivmx.immv i JOIN pg_class c ON c.oid = i.immvrelid
 WHERE c.relnamespace = 'constants'::regnamespace;
\set check 'SELECT count(*) AS immvs, count(*) FILTER (WHERE s.lag > interval ''0'') AS lagging, string_agg(immv::text, '', '' ORDER BY immv::text) FILTER (WHERE coalesce(s.lag, interval ''0'') = interval ''0'' AND (ivmx.verify_immv(immv) <> 0 OR text_diff(immv) <> 0)) AS differing FROM immvs JOIN ivmx.immv_status s USING (immv)'
\set flush 'SELECT count(ivmx.flush(immv)) AS flushed FROM immvs JOIN ivmx.immv_status s USING (immv) WHERE s.mode = ''deferred'''

CREATE TABLE items (id int PRIMARY KEY, k int, v int, tag text);
CREATE TABLE bag (k int, w int);
INSERT INTO items VALUES (1, 1, 10, 'a'), (2, 1, 20, 'b'), (3, 2, 30, NULL), (4, NULL, 40, 'd'), (5, 3, NULL, 'e');
INSERT INTO bag VALUES (1, 100), (1, 100), (2, 200), (NULL, 300);
-- A user's immutable functions returning a table, and records (read with a
-- column definition list).
CREATE FUNCTION pairs(n int) RETURNS TABLE (a int, b text) LANGUAGE sql IMMUTABLE
    AS $$ SELECT g, 'p' || g FROM generate_series(1, n) g $$;
CREATE FUNCTION records() RETURNS SETOF record LANGUAGE sql IMMUTABLE
    AS $$ VALUES (1, 'one'::text), (3, 'three'), (3, 'tres') $$;

-- Without FROM: one row (none when WHERE is false), never changing.
SELECT ivmx.create_immv('c_none', 'SELECT 1 AS one, ''x''::text AS t');
SELECT ivmx.create_immv('cd_none', 'SELECT 1 AS one, ''x''::text AS t', mode => 'deferred');
SELECT ivmx.create_immv('c_count', 'SELECT count(*) AS n, sum(2) AS s, max(3) AS m');
SELECT ivmx.create_immv('cd_count', 'SELECT count(*) AS n, sum(2) AS s, max(3) AS m', mode => 'deferred');
SELECT ivmx.create_immv('c_distinct', 'SELECT DISTINCT 5 AS five, true AS yes, 1.5 AS f, ''x''::text AS t');
SELECT ivmx.create_immv('c_grouped_none', 'SELECT 2 AS k, count(*) AS n GROUP BY 1');
SELECT ivmx.create_immv('c_false', 'SELECT 7 AS seven WHERE 1 > 2');
-- A column without equality is fine where rows are never matched.
SELECT ivmx.create_immv('c_json', 'SELECT ''{"a": 1}''::json AS j');
-- Functions only.
SELECT ivmx.create_immv('c_only_series', 'SELECT i, i * i AS sq FROM generate_series(1, 4) i');
SELECT ivmx.create_immv('c_only_pairs', 'SELECT a, b FROM pairs(2)');
SELECT one, t FROM c_none;
SELECT n, s, m FROM c_count;
SELECT five, yes, f, t FROM c_distinct;
SELECT k, n FROM c_grouped_none;
SELECT count(*) AS false_rows FROM c_false;
SELECT i, sq FROM c_only_series ORDER BY i;

-- Functions joined with tables.
\set cross 'SELECT t.id, t.k, i FROM items t, generate_series(1, 3) i'
SELECT ivmx.create_immv('c_cross', :'cross');
SELECT ivmx.create_immv('cd_cross', :'cross', mode => 'deferred');
\set unnest_join 'SELECT t.id, u FROM items t JOIN unnest(''{1,2,2,NULL}''::int[]) u ON u = t.k'
SELECT ivmx.create_immv('c_unnest_join', :'unnest_join');
SELECT ivmx.create_immv('cd_unnest_join', :'unnest_join', mode => 'deferred');
\set grouped 'SELECT i, count(*) AS n, sum(t.v) AS s, max(t.v) AS top, min(t.tag) AS low FROM items t, generate_series(1, 3) i WHERE t.k <= i GROUP BY i'
SELECT ivmx.create_immv('c_grouped', :'grouped');
SELECT ivmx.create_immv('cd_grouped', :'grouped', mode => 'deferred');
\set global 'SELECT count(*) AS n, sum(t.v * u.m) AS weighted, max(t.v + u.m) AS top FROM items t, unnest(''{1,10}''::int[]) AS u(m)'
SELECT ivmx.create_immv('c_global', :'global');
SELECT ivmx.create_immv('cd_global', :'global', mode => 'deferred');
\set days 'SELECT DISTINCT t.k, d::date AS day FROM items t, generate_series(''2024-01-01''::timestamp, ''2024-01-03''::timestamp, ''1 day''::interval) d WHERE t.k IS NOT NULL'
SELECT ivmx.create_immv('c_days', :'days');
SELECT ivmx.create_immv('cd_days', :'days', mode => 'deferred');
\set rows_from 'SELECT t.id, r.a, r.b, r.o FROM items t, ROWS FROM (generate_series(1, 2), unnest(''{x,y,z}''::text[])) WITH ORDINALITY AS r(a, b, o) WHERE t.k = r.o'
SELECT ivmx.create_immv('c_rows_from', :'rows_from');
SELECT ivmx.create_immv('cd_rows_from', :'rows_from', mode => 'deferred');
\set recordset 'SELECT t.id, r.b FROM items t JOIN records() AS r(a int, b text) ON r.a = t.k'
SELECT ivmx.create_immv('c_recordset', :'recordset');
SELECT ivmx.create_immv('cd_recordset', :'recordset', mode => 'deferred');
\set udf 'SELECT t.k, p.b, count(*) AS n FROM items t JOIN pairs(3) p ON p.a = t.k GROUP BY t.k, p.b'
SELECT ivmx.create_immv('c_udf', :'udf');
SELECT ivmx.create_immv('cd_udf', :'udf', mode => 'deferred');
\set two_tables 'SELECT t.id, b.w, i FROM items t JOIN bag b ON b.k = t.k, generate_series(1, 2) i'
SELECT ivmx.create_immv('c_two_tables', :'two_tables');
SELECT ivmx.create_immv('cd_two_tables', :'two_tables', mode => 'deferred');
\set subquery 'SELECT q.id, q.i FROM (SELECT t.id, i FROM items t, generate_series(1, 2) i WHERE t.v > 15) q'
SELECT ivmx.create_immv('c_subquery', :'subquery');
\set cte 'WITH s AS (SELECT i FROM generate_series(1, 3) i) SELECT t.id, s.i FROM items t JOIN s ON s.i = t.k'
SELECT ivmx.create_immv('c_cte', :'cte');
-- Outer joins: the function on the preserved side, on the nullable side,
-- on both sides of a FULL JOIN, and as the inner side of EXISTS.
\set left_preserved 'SELECT s.i, count(t.id) AS n, sum(t.v) AS s FROM generate_series(0, 3) s(i) LEFT JOIN items t ON t.k = s.i GROUP BY s.i'
SELECT ivmx.create_immv('c_left_preserved', :'left_preserved');
SELECT ivmx.create_immv('cd_left_preserved', :'left_preserved', mode => 'deferred');
\set left_nullable 'SELECT t.id, u.x FROM items t LEFT JOIN unnest(''{1,1,3}''::int[]) AS u(x) ON u.x = t.k'
SELECT ivmx.create_immv('c_left_nullable', :'left_nullable');
SELECT ivmx.create_immv('cd_left_nullable', :'left_nullable', mode => 'deferred');
\set full_join 'SELECT t.id, s.i, b.w FROM items t FULL JOIN generate_series(1, 4) s(i) ON s.i = t.k LEFT JOIN bag b ON b.k = s.i'
SELECT ivmx.create_immv('c_full', :'full_join');
SELECT ivmx.create_immv('cd_full', :'full_join', mode => 'deferred');
\set exists 'SELECT t.id FROM items t WHERE EXISTS (SELECT 1 FROM unnest(''{1,3}''::int[]) u WHERE u = t.k) AND NOT EXISTS (SELECT 1 FROM generate_series(3, 3) g WHERE g = t.k)'
SELECT ivmx.create_immv('c_exists', :'exists');
SELECT ivmx.create_immv('cd_exists', :'exists', mode => 'deferred');
-- Without FROM, but reading tables in EXISTS / NOT EXISTS: one row or none.
\set flag 'SELECT 1 AS present, ''k3''::text AS what WHERE EXISTS (SELECT 1 FROM items t WHERE t.k = 3)'
SELECT ivmx.create_immv('c_flag', :'flag');
SELECT ivmx.create_immv('cd_flag', :'flag', mode => 'deferred');
\set empty_bag 'SELECT count(*) AS n WHERE NOT EXISTS (SELECT 1 FROM bag b WHERE b.k IS NULL) AND EXISTS (SELECT 1 FROM items t, generate_series(1, 2) g WHERE t.k = g)'
SELECT ivmx.create_immv('c_empty_bag', :'empty_bag');
SELECT ivmx.create_immv('cd_empty_bag', :'empty_bag', mode => 'deferred');
SELECT present, what FROM c_flag;
SELECT n FROM c_empty_bag;
-- Nested: IMMVs over IMMVs that never change, and over IMMVs with functions.
SELECT ivmx.create_immv('c_nested_none', 'SELECT one, count(*) AS n FROM c_none GROUP BY one');
SELECT ivmx.create_immv('cd_nested_count', 'SELECT c.n, i FROM c_count c, generate_series(1, 2) i', mode => 'deferred');
SELECT ivmx.create_immv('c_nested_grouped', 'SELECT g.i, g.n, j FROM c_grouped g, generate_series(1, 2) j WHERE g.n > 1');
SELECT ivmx.create_immv('cd_nested_grouped', 'SELECT n, count(*) AS groups, sum(s) AS s FROM cd_grouped GROUP BY n', mode => 'deferred');
SELECT ivmx.create_immv('c_nested_deferred', 'SELECT i, n FROM cd_grouped');
:check;
SELECT i, n, s, top, low FROM c_grouped ORDER BY i;
SELECT i, n, s FROM c_left_preserved ORDER BY i;

-- What pg_ivmx attached: triggers and logs on the tables only, dependency
-- edges only to relations, and pg_depend entries on the user's function.
SELECT tgrelid::regclass AS relation, count(*) AS capture_triggers FROM pg_trigger
 WHERE tgfoid = 'ivmx.capture_trigger'::regproc AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'constants'::regnamespace)
 GROUP BY 1 ORDER BY tgrelid::regclass::text;
SELECT relid::regclass AS logged FROM ivmx.delta_log
 WHERE relid IN (SELECT oid FROM pg_class WHERE relnamespace = 'constants'::regnamespace) ORDER BY relid::regclass::text;
SELECT immv, array_agg(reads::text ORDER BY reads::text) AS reads FROM ivmx.immv_dependencies
 WHERE immv IN (SELECT immv FROM immvs) GROUP BY immv ORDER BY immv::text;
SELECT count(*) AS reading_nothing FROM immvs
 WHERE NOT EXISTS (SELECT FROM ivmx.immv_dependency d WHERE d.immvrelid = immvs.immv);
SELECT classid::regclass, objid::regclass AS immv FROM pg_depend
 WHERE refclassid = 'pg_proc'::regclass AND refobjid = 'pairs(int)'::regprocedure ORDER BY objid::regclass::text;
DROP FUNCTION pairs(int);
-- Made volatile after the IMMVs were created: a change of the table either
-- is refused or leaves every IMMV equal to its query.
ALTER FUNCTION pairs(int) VOLATILE;
DO $$ BEGIN INSERT INTO items VALUES (100, 1, 1, 'q'); EXCEPTION WHEN feature_not_supported THEN NULL; END $$;
ALTER FUNCTION pairs(int) IMMUTABLE;
SELECT count(*) AS inserted FROM items WHERE id = 100;
:flush;
:check;
DELETE FROM items WHERE id = 100;
-- Pending rows and state: nothing to do for an IMMV that reads no table.
SELECT immv, mode, state, pending_rows, lag, depth, upstream FROM ivmx.immv_status
 WHERE immv IN ('c_none'::regclass, 'cd_none'::regclass, 'cd_count'::regclass, 'c_nested_none'::regclass,
                'cd_nested_count'::regclass, 'cd_cross'::regclass) ORDER BY immv::text;
SELECT * FROM ivmx.pending_changes('cd_none');

-- Changes of every base table, in both modes.
INSERT INTO items VALUES (6, 2, 60, 'f'), (7, 3, 70, 'g'), (8, NULL, NULL, NULL), (9, 1, 15, 'a');
:check;
:flush;
:check;
UPDATE items SET k = k + 1 WHERE id IN (1, 3, 7);
:check;
UPDATE items SET v = v * 2, tag = upper(tag) WHERE k = 2;
:check;
:flush;
:check;
DELETE FROM items WHERE id IN (2, 5);
:check;
INSERT INTO bag VALUES (2, 201), (3, 300), (NULL, 301);
UPDATE bag SET w = w + 1 WHERE k = 1;
DELETE FROM bag WHERE w = 300;
:check;
:flush;
:check;
SELECT i, n, s, top, low FROM c_grouped ORDER BY i;
SELECT i, n, s FROM cd_left_preserved ORDER BY i;
SELECT present, what FROM c_flag;
SELECT n FROM cd_empty_bag;
-- Several statements and tables in one transaction; a writable CTE
-- changing both tables in one statement.
BEGIN;
INSERT INTO items VALUES (10, 3, 5, 'h');
UPDATE bag SET k = 3 WHERE k IS NULL;
DELETE FROM items WHERE id = 9;
SELECT count(*) AS cross_rows FROM c_cross;
COMMIT;
:check;
SELECT n FROM c_empty_bag;
WITH moved AS (UPDATE items SET k = 1 WHERE id = 10 RETURNING k)
INSERT INTO bag SELECT k, 999 FROM moved;
:check;
:flush;
:check;
TRUNCATE bag;
:check;
TRUNCATE items;
:check;
:flush;
:check;
SELECT i, n, s FROM c_left_preserved ORDER BY i;
SELECT count(*) AS flags FROM c_flag;
SELECT n FROM c_empty_bag;
INSERT INTO items VALUES (1, 1, 1, 'z'), (2, 2, 2, 'y'), (3, 3, 3, NULL);
INSERT INTO bag VALUES (1, 1), (4, 4);
:check;
:flush;
:check;

-- The functions acting on an IMMV that never changes.
SELECT ivmx.get_immv_def('c_distinct');
SELECT ivmx.get_immv_def('cd_rows_from');
SELECT * FROM ivmx.explain_immv('c_count');
SELECT * FROM ivmx.explain_immv('c_only_series');
SELECT count(*) FILTER (WHERE line LIKE '-- after %') AS headings,
       count(*) FILTER (WHERE line LIKE '%ROWS FROM (generate_series(1, 3)) AS i("i")%') AS reading_the_series
  FROM ivmx.explain_immv('cd_cross') AS line;
SELECT ivmx.verify_immv('c_none') AS none, ivmx.verify_immv('cd_count') AS count;
-- refresh_immv, also of an IMMV another one reads; without data first.
SELECT ivmx.refresh_immv('c_none', false);
SELECT immv, state FROM ivmx.immv_status WHERE immv IN ('c_none'::regclass, 'c_nested_none'::regclass) ORDER BY immv::text;
SELECT count(*) AS rows_while_suspended FROM c_none;
SELECT ivmx.refresh_immv('c_none', true);
SELECT ivmx.refresh_immv('cd_count', true);
SELECT ivmx.refresh_immv('c_only_series', true);
:check;
-- set_mode, both ways, with changes pending for the IMMVs that have a table.
SELECT ivmx.set_mode('c_none', 'deferred');
SELECT ivmx.set_mode('cd_count', 'immediate');
INSERT INTO items VALUES (4, 1, 44, 'w');
SELECT ivmx.set_mode('cd_cross', 'immediate');
SELECT ivmx.set_mode('c_grouped', 'deferred');
UPDATE items SET v = 0 WHERE id = 4;
:check;
SELECT ivmx.flush('c_none') AS none_flushed;
SELECT ivmx.set_mode('c_none', 'immediate');
SELECT ivmx.set_mode('cd_count', 'deferred');
SELECT ivmx.set_mode('cd_cross', 'deferred');
SELECT ivmx.set_mode('c_grouped', 'immediate');
:check;
-- Dump and restore commands list IMMVs that read no table too.
SELECT count(*) FILTER (WHERE c LIKE '%"constants"."c_none"%') AS create_none,
       count(*) FILTER (WHERE c LIKE '%"constants"."c_only_series"%') AS create_only_series,
       count(*) FILTER (WHERE c LIKE '%"constants"."cd_cross"%') AS create_cross
  FROM ivmx.get_create_immv_commands() AS c;
SELECT c FROM ivmx.get_restore_immv_commands() AS c WHERE c LIKE '%"constants"."c_%none"%';

-- The scheduler refreshes deferred IMMVs that read functions, and has
-- nothing to do for those that read no table.
INSERT INTO items VALUES (11, 2, 110, 'k'), (12, 3, 120, 'l');
DELETE FROM bag WHERE k = 4;
ALTER SYSTEM SET ivmx.enabled = on;
SELECT pg_reload_conf();
DO $$
DECLARE deadline timestamptz := clock_timestamp() + interval '10 s';
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM ivmx.immv_status WHERE immv IN (SELECT immv FROM constants.immvs)
                                 AND pending_rows > 0);
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT count(*) AS deferred, count(*) FILTER (WHERE pending_rows > 0) AS pending,
       count(*) FILTER (WHERE state <> 'ok' OR last_error IS NOT NULL OR consecutive_failures > 0) AS troubled
  FROM ivmx.immv_status WHERE immv IN (SELECT immv FROM immvs) AND mode = 'deferred';
:check;

-- Refused: functions that are not immutable, or that read columns of
-- another FROM item (LATERAL), in either mode. Nothing is left behind: no
-- table, no trigger on the table, no catalog row.
CREATE TABLE rtab (id int PRIMARY KEY, n int, arr int[]);
INSERT INTO rtab VALUES (1, 2, '{1,2}');
CREATE FUNCTION volatile_rows() RETURNS SETOF int LANGUAGE sql VOLATILE AS 'SELECT 1';
CREATE FUNCTION stable_rows() RETURNS SETOF int LANGUAGE sql STABLE AS 'SELECT 1';
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE ''rej%'') AS relations, (SELECT count(*) FROM pg_trigger WHERE tgrelid = ''constants.rtab''::regclass) AS triggers, (SELECT count(*) FROM ivmx.immv i WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid)) + (SELECT count(*) FROM ivmx.immv_dependency WHERE relid = ''constants.rtab''::regclass) + (SELECT count(*) FROM ivmx.delta_log WHERE relid = ''constants.rtab''::regclass) AS catalog_rows'
SELECT ivmx.create_immv('rej', 'SELECT r.id, v FROM rtab r, volatile_rows() v');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT r.id, v FROM rtab r, stable_rows() v', mode => 'deferred');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT * FROM generate_series(now(), now() + interval ''1 day'', interval ''1 hour'') g');
:rejected;
-- Over dates, generate_series resolves to its timestamptz form (stable:
-- it depends on TimeZone); timestamp bounds are immutable (c_days).
SELECT ivmx.create_immv('rej', 'SELECT r.id, d FROM rtab r, generate_series(''2024-01-01''::date, ''2024-01-03''::date, ''1 day''::interval) d');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT r.id, g FROM rtab r, generate_series(1, (random() * 3)::int) g');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT r.id, g FROM rtab r, generate_series(1, r.n) g');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT r.id, u FROM rtab r CROSS JOIN LATERAL unnest(r.arr) u', mode => 'deferred');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT r.id FROM rtab r WHERE EXISTS (SELECT 1 FROM unnest(r.arr) u WHERE u > 1)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT r.id, g FROM rtab r, generate_series(1, (SELECT max(n) FROM rtab)) g');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT * FROM unnest(''{1}''::int[], ''{2}''::int[])');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT * FROM generate_series(1, 2) g, (VALUES (1)) v(x)');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT x FROM (SELECT 1 AS x) s');
:rejected;
-- With column names, unnest of two arrays is accepted.
SELECT ivmx.create_immv('c_unnest_two', 'SELECT * FROM unnest(''{1}''::int[], ''{2,3}''::int[]) AS u(a, b)');
SELECT a, b FROM c_unnest_two ORDER BY b;

-- Two roles: the owner of an IMMV reading its table and a function, and of
-- an IMMV without FROM; another role may not read them without a grant, nor
-- act on them, nor get the owner's rights through a function in FROM.
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_cr_owner;
DROP ROLE IF EXISTS regress_ivmx_cr_other;
CREATE ROLE regress_ivmx_cr_owner LOGIN;
CREATE ROLE regress_ivmx_cr_other LOGIN;
CREATE SCHEMA cr_owner AUTHORIZATION regress_ivmx_cr_owner;
CREATE SCHEMA cr_other AUTHORIZATION regress_ivmx_cr_other;
GRANT USAGE ON SCHEMA cr_owner TO regress_ivmx_cr_other;
\c - regress_ivmx_cr_owner
SET search_path = cr_owner;
CREATE TABLE secrets (id int PRIMARY KEY, secret text);
INSERT INTO secrets VALUES (1, 'alpha'), (2, 'beta');
SELECT ivmx.create_immv('cr_owner.spread', 'SELECT s.id, s.secret, i FROM cr_owner.secrets s, generate_series(1, 2) i');
SELECT ivmx.create_immv('cr_owner.answer', 'SELECT 42 AS answer');
SELECT count(*) AS spread_rows FROM spread;
\c - regress_ivmx_cr_other
SET search_path = cr_other;
SELECT * FROM cr_owner.spread;
SELECT * FROM cr_owner.answer;
SELECT ivmx.verify_immv('cr_owner.answer');
SELECT ivmx.get_immv_def('cr_owner.spread');
SELECT ivmx.refresh_immv('cr_owner.answer', true);
SELECT ivmx.set_mode('cr_owner.answer', 'deferred');
SELECT ivmx.flush('cr_owner.spread');
INSERT INTO cr_owner.answer VALUES (0);
SELECT count(*) AS status_rows FROM ivmx.immv_status WHERE immv::text LIKE 'cr_owner.%';
SELECT count(*) AS commands FROM ivmx.get_create_immv_commands() c WHERE c LIKE '%cr_owner%';
-- Reading the owner's IMMVs into an IMMV of one's own needs what reading
-- them needs.
SELECT ivmx.create_immv('cr_other.copy', 'SELECT a.answer, i FROM cr_owner.answer a, generate_series(1, 2) i');
-- A function in FROM runs with the rights of the IMMV's owner: here the
-- other role, who may not read the secrets.
CREATE FUNCTION cr_other.peek() RETURNS SETOF text LANGUAGE sql IMMUTABLE AS 'SELECT secret FROM cr_owner.secrets';
SELECT ivmx.create_immv('cr_other.leak', 'SELECT p FROM cr_other.peek() p');
SELECT count(*) AS other_immvs FROM pg_class WHERE relnamespace = 'cr_other'::regnamespace AND relkind = 'r';
-- An IMMV of one's own without FROM, and over a function only, is fine.
SELECT ivmx.create_immv('cr_other.mine', 'SELECT i FROM generate_series(1, 2) i');
SELECT i FROM cr_other.mine ORDER BY i;
\c - regress_ivmx_cr_owner
GRANT SELECT ON cr_owner.spread TO regress_ivmx_cr_other;
INSERT INTO cr_owner.secrets VALUES (3, 'gamma');
\c - regress_ivmx_cr_other
SELECT id, secret, i FROM cr_owner.spread ORDER BY id, i;
SELECT ivmx.verify_immv('cr_owner.spread');
\c - :admin
SET search_path = constants, public;
SET client_min_messages = warning;
DROP SCHEMA cr_owner CASCADE;
DROP SCHEMA cr_other CASCADE;
RESET client_min_messages;
DROP ROLE regress_ivmx_cr_owner;
DROP ROLE regress_ivmx_cr_other;

-- DROP: an IMMV that others read needs CASCADE; dropped IMMVs leave no
-- catalog row, and the last IMMV on a table takes its triggers along.
DROP TABLE c_none;
DROP TABLE c_none CASCADE;
SELECT count(*) AS none_rows FROM ivmx.immv
 WHERE immvrelid NOT IN (SELECT oid FROM pg_class);
DROP TABLE c_cross, cd_cross, c_only_series, c_count, cd_nested_count;
SELECT count(*) AS left_over_catalog_rows FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
SELECT count(*) AS dependency_rows_left FROM ivmx.immv_dependency d
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = d.immvrelid);
SELECT tgrelid::regclass AS relation, count(*) AS capture_triggers FROM pg_trigger
 WHERE tgfoid = 'ivmx.capture_trigger'::regproc AND tgrelid IN ('items'::regclass, 'bag'::regclass)
 GROUP BY 1 ORDER BY tgrelid::regclass::text;
DROP TABLE c_two_tables, cd_two_tables, c_full, cd_full;
SELECT tgrelid::regclass AS relation, count(*) AS capture_triggers FROM pg_trigger
 WHERE tgfoid = 'ivmx.capture_trigger'::regproc AND tgrelid IN ('items'::regclass, 'bag'::regclass)
 GROUP BY 1 ORDER BY tgrelid::regclass::text;
SELECT relid::regclass AS logged FROM ivmx.delta_log WHERE relid IN ('items'::regclass, 'bag'::regclass) ORDER BY relid::regclass::text;
-- Dropping a function in FROM with CASCADE drops the IMMVs reading it, and
-- their catalog rows.
ALTER FUNCTION records() RENAME TO renamed_records;
SELECT ivmx.get_immv_def('c_recordset');
INSERT INTO items VALUES (13, 3, 130, 'm');
DROP FUNCTION renamed_records() CASCADE;
SELECT count(*) AS recordset_immvs FROM pg_class WHERE relname IN ('c_recordset', 'cd_recordset');
SELECT count(*) AS left_over_catalog_rows FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
:flush;
:check;

SET client_min_messages = warning;
DROP SCHEMA constants CASCADE;
RESET client_min_messages;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
