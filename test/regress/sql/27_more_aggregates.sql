CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- bit_xor (kept like a sum: xor undoes itself); stddev, stddev_pop and
-- stddev_samp over integers and numeric (from the count, sum and sum of
-- squares the variances keep; value and display scale PostgreSQL's);
-- variances and standard deviations over real and double precision,
-- string_agg, array_agg, json_agg, jsonb_agg and jsonb_object_agg, with
-- and without ORDER BY inside (recomputed for every group a change
-- reaches); min and max over more types. Each alone, with FILTER and
-- inside expressions, with GROUP BY and without, over an outer join, in
-- immediate and deferred mode, and nested; after INSERT, UPDATE, DELETE
-- and TRUNCATE of every base table. :check compares every IMMV of schema
-- agg_more with its query after each change, with verify_immv and by the
-- text form of its visible columns, so that the value, its display scale
-- and the order of a list must all be the query's.
-- setup/aggregate_checks.sql turns the scheduler off (only ivmx.flush
-- applies deferred changes) and defines :check and :flush.
\set schema agg_more
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup
-- IMMVs whose lists may hold their elements in another order than the
-- query (no ORDER BY inside), or whose float variances may differ from the
-- query's in their last bits (PostgreSQL's own result depends on the order
-- a plan feeds the rows), live in schema agg_more_loose: verify_immv
-- compares them without regard to that order, text_diff would not.
CREATE SCHEMA agg_more_loose;
\set check_loose 'SELECT c.relname AS immv, ivmx.verify_immv(c.oid) AS verify FROM ivmx.immv i JOIN pg_class c ON c.oid = i.immvrelid WHERE c.relnamespace = ''agg_more_loose''::regnamespace ORDER BY 1'
\set flush_loose 'SELECT count(ivmx.flush(i.immvrelid)) AS flushed FROM ivmx.immv i JOIN pg_class c ON c.oid = i.immvrelid WHERE c.relnamespace = ''agg_more_loose''::regnamespace AND i.mode = ''deferred'''

CREATE TABLE owners (oid int PRIMARY KEY, name text);
INSERT INTO owners VALUES (1, 'ann'), (2, 'bob'), (3, 'cy'), (4, 'dee');

---------------------------------------------------------------------------
-- bit_xor over smallint, integer, bigint (its extremes) and bit(4). A group
-- whose inputs xor to 0 shows 0, a group without non-null input NULL.
CREATE TABLE flags (id int PRIMARY KEY, owner int, s smallint, i int, b bigint, f bit(4), on_ boolean);
INSERT INTO flags VALUES (1, 1, 7, 12, 9223372036854775807, B'1100', true),
    (2, 1, 5, -10, -9223372036854775808, B'1010', false), (3, 2, 3, 1, NULL, B'0001', true),
    (4, 2, NULL, NULL, NULL, NULL, NULL), (5, NULL, 1, 6, 8, B'0110', true), (6, 3, 4, 4, 4, B'0100', true),
    (7, 3, 4, 4, 4, B'0100', false);
\set xor_grouped 'SELECT owner, bit_xor(s) AS x_s, bit_xor(i) AS x_i, bit_xor(b) AS x_b, bit_xor(f) AS x_f, bit_xor(i) FILTER (WHERE on_) AS x_on, coalesce(bit_xor(i), 0) + count(*) AS e, count(*) AS n FROM flags GROUP BY owner'
SELECT ivmx.create_immv('x_grouped', :'xor_grouped');
SELECT ivmx.create_immv('xd_grouped', :'xor_grouped', mode => 'deferred');
\set xor_global 'SELECT bit_xor(b) AS x_b, bit_xor(f) FILTER (WHERE on_) AS x_f, coalesce(bit_xor(s), -1) * 2 AS e FROM flags'
SELECT ivmx.create_immv('x_global', :'xor_global');
SELECT ivmx.create_immv('xd_global', :'xor_global', mode => 'deferred');
\set xor_join 'SELECT o.name, bit_xor(f.i) AS x_i, bit_xor(f.f) AS x_f, count(f.id) AS n FROM owners o LEFT JOIN flags f ON f.owner = o.oid GROUP BY o.name'
SELECT ivmx.create_immv('x_join', :'xor_join');
SELECT ivmx.create_immv('xd_join', :'xor_join', mode => 'deferred');
SELECT ivmx.create_immv('x_nested', 'SELECT n, bit_xor(x_i) AS xx, bit_xor(x_f) AS xf, count(*) AS c FROM x_grouped GROUP BY n');
SELECT ivmx.create_immv('xd_nested', 'SELECT bit_xor(x_b) AS xx FROM xd_grouped', mode => 'deferred');
:check;
SELECT owner, x_s, x_i, x_b, x_f, x_on, e, n FROM x_grouped ORDER BY owner;
INSERT INTO flags VALUES (8, 4, 1, 1, 1, B'1111', true), (9, 4, 1, 1, -1, B'1111', true), (10, 1, NULL, 3, NULL, B'0011', NULL);
:check;
:flush;
:check;
UPDATE flags SET i = i # 255, s = -s WHERE owner = 1;
:check;
UPDATE flags SET b = NULL, f = NULL WHERE id = 5;
:check;
UPDATE flags SET owner = 2 WHERE id = 6;
:check;
:flush;
:check;
SELECT owner, x_s, x_i, x_b, x_f, x_on, e, n FROM x_grouped ORDER BY owner;
DELETE FROM flags WHERE owner = 4;
:check;
DELETE FROM owners WHERE oid = 3;
:check;
:flush;
:check;
SELECT name, x_i, x_f, n FROM x_join ORDER BY name;
BEGIN;
INSERT INTO flags VALUES (20, 3, 8, 32, 64, B'1000', true);
DELETE FROM flags WHERE id = 20;
UPDATE flags SET b = 1023 WHERE id = 1;
INSERT INTO flags VALUES (21, 5, 8, 32, 64, B'1000', true), (22, 5, 8, 32, 64, B'1000', true);
COMMIT;
:check;
:flush;
:check;
SELECT x_b, x_f, e FROM x_global;
TRUNCATE flags;
:check;
:flush;
:check;
SELECT x_b, x_f, e FROM x_global;
INSERT INTO flags SELECT g, g % 7, (g * 37 % 101) - 50, g * 7919 % 100003, ((g % 4) - 2)::bigint * 4611686018427387903 + g,
    (g % 16)::bit(4), g % 3 = 0 FROM generate_series(1, 300) g;
:check;
:flush;
:check;
DELETE FROM flags WHERE id % 4 = 0;
UPDATE flags SET i = NULL WHERE id % 5 = 0;
:check;
:flush;
:check;
TRUNCATE owners CASCADE;
:check;
:flush;
:check;

---------------------------------------------------------------------------
-- stddev, stddev_pop and stddev_samp over smallint, integer, bigint and
-- numeric (mixed scales, NaN and infinities): the value and display scale
-- of the square root PostgreSQL takes of the variance.
INSERT INTO owners VALUES (1, 'ann'), (2, 'bob'), (3, 'cy'), (4, 'dee');
CREATE TABLE pts (id int PRIMARY KEY, owner int, s smallint, i int, b bigint, x numeric, y numeric(8,3), on_ boolean);
INSERT INTO pts VALUES (1, 1, 7, 12, 9000000000000000000, 1.5, 1.250, true),
    (2, 1, 5, 10, -9000000000000000000, 2, 2.000, false), (3, 2, 3, 1, NULL, 2.125, NULL, true),
    (4, 2, NULL, NULL, NULL, NULL, NULL, NULL), (5, NULL, 1, 6, 8, 0.1, 0.100, true), (6, 1, -4, 99, 3, 7, 3.142, true);
\set sd_grouped 'SELECT owner, stddev(s) AS sd_s, stddev_pop(i) AS sp_i, stddev_samp(b) AS ss_b, stddev(x) AS sd_x, stddev_pop(x) AS sp_x, stddev_pop(y) AS sp_y, stddev(i) FILTER (WHERE on_) AS sd_on, stddev(i) * 2 AS e, round(coalesce(stddev_pop(x), -1), 3) AS r, count(*) AS n FROM pts GROUP BY owner'
SELECT ivmx.create_immv('sd_grouped', :'sd_grouped');
SELECT ivmx.create_immv('sdd_grouped', :'sd_grouped', mode => 'deferred');
\set sd_global 'SELECT stddev_pop(i) AS sp_i, stddev_samp(s) AS ss_s, stddev(b) FILTER (WHERE on_) AS sd_b, stddev(x) AS sd_x, coalesce(stddev_samp(y), 0) + 1 AS e FROM pts'
SELECT ivmx.create_immv('sd_global', :'sd_global');
SELECT ivmx.create_immv('sdd_global', :'sd_global', mode => 'deferred');
\set sd_join 'SELECT o.name, stddev_pop(p.i) AS sp_i, stddev(p.x) AS sd_x, count(p.id) AS n FROM owners o LEFT JOIN pts p ON p.owner = o.oid GROUP BY o.name'
SELECT ivmx.create_immv('sd_join', :'sd_join');
SELECT ivmx.create_immv('sdd_join', :'sd_join', mode => 'deferred');
SELECT ivmx.create_immv('sd_nested', 'SELECT n, stddev(sp_i) AS sd, stddev_pop(n) AS sp, count(*) AS c FROM sd_grouped GROUP BY n');
:check;
SELECT owner, sd_s, sp_i, ss_b, sd_x, sp_x, sp_y, sd_on, e, r, n FROM sd_grouped ORDER BY owner;
INSERT INTO pts VALUES (7, 3, 2, 9, 1, 3.14159, 9.990, false), (8, 3, 2, 9, 1, 3.14159, 1.000, true),
    (9, 1, -3, -7, 11, 0.001, 0.001, true), (10, 4, 0, 0, 0, 'NaN', 1, true), (11, 4, 1, 1, 1, 'Infinity', 2, true);
:check;
:flush;
:check;
SELECT owner, sd_s, sp_i, ss_b, sd_x, sp_x, sp_y, sd_on, e, r, n FROM sd_grouped ORDER BY owner;
UPDATE pts SET i = i * 3 + 1, x = x * 1.00 WHERE owner = 1;
:check;
UPDATE pts SET x = 4 WHERE id IN (10, 11);
:check;
UPDATE pts SET s = NULL WHERE id = 3;
:check;
UPDATE pts SET owner = 3 WHERE id = 1;
:check;
:flush;
:check;
SELECT owner, sd_s, sp_i, ss_b, sd_x, sp_x, sp_y, sd_on, e, r, n FROM sd_grouped ORDER BY owner;
DELETE FROM pts WHERE on_ IS NOT TRUE;
:check;
DELETE FROM owners WHERE oid = 2;
:check;
:flush;
:check;
SELECT name, sp_i, sd_x, n FROM sd_join ORDER BY name;
BEGIN;
INSERT INTO pts VALUES (20, 3, 8, 32, 64, 5.55555, 1, true);
DELETE FROM pts WHERE id = 20;
UPDATE pts SET x = 0.5, b = -b WHERE id = 5;
COMMIT;
:check;
:flush;
:check;
SELECT sp_i, ss_s, sd_b, sd_x, e FROM sd_global;
TRUNCATE pts;
:check;
:flush;
:check;
SELECT sp_i, ss_s, sd_b, sd_x, e FROM sd_global;
-- Thousands of groups of random inputs of every size and scale (a square
-- root that rounded twice would differ in its last digit in about one of
-- a thousand): the value and display scale must be the aggregate's.
SELECT setseed(0.27);
CREATE TABLE many (id int PRIMARY KEY, g int, i int, b bigint, x numeric);
INSERT INTO many SELECT k, k % 3000, (random() * 2000000)::int - 1000000,
    CASE k % 3 WHEN 0 THEN (random() * 1e18)::bigint WHEN 1 THEN (random() * 1e9)::bigint ELSE (random() * 100)::bigint END,
    round((random() * 10 ^ (k % 13) - 5)::numeric, k % 7) FROM generate_series(1, 12000) k;
\set many_query 'SELECT g, stddev(i) AS sd_i, stddev_pop(b) AS sp_b, stddev_samp(x) AS ss_x, stddev_pop(x) AS sp_x, count(*) AS n FROM many GROUP BY g'
SELECT ivmx.create_immv('sd_many', :'many_query');
SELECT ivmx.create_immv('sdd_many', :'many_query', mode => 'deferred');
:check;
INSERT INTO many SELECT 20000 + k, k % 3000, (random() * 1000)::int, (random() * 1e15)::bigint,
    round((random() * 10 ^ (k % 11))::numeric, (k + 3) % 9) FROM generate_series(1, 6000) k;
:check;
UPDATE many SET x = x * 3, i = i + 7 WHERE id % 5 = 0;
:check;
DELETE FROM many WHERE id % 7 = 0;
:check;
:flush;
:check;
DROP TABLE sd_many, sdd_many, many;

---------------------------------------------------------------------------
-- Variances and standard deviations over real and double precision: a
-- group that a change reaches is recomputed with PostgreSQL's aggregate.
-- Inputs are not exact in binary (0.1, 1e10 + 0.3): over one table, the
-- recompute reads a group's rows in the order the query does (in the order
-- of the table: autovacuum is off so that no new statistics change the
-- query's plan), so even the last bits are the query's.
CREATE TABLE ms (id int PRIMARY KEY, owner int, r real, d double precision, on_ boolean)
    WITH (autovacuum_enabled = off);
INSERT INTO ms VALUES (1, 1, 0.1, 0.1, true), (2, 1, 0.7, 1e10 + 0.3, false), (3, 1, 2.5, 0.2, true),
    (4, 2, NULL, NULL, NULL), (5, 2, 1.25, -3.3, true), (6, NULL, 3, 1e-5, true);
\set fl_grouped 'SELECT owner, var_pop(r) AS vp_r, var_samp(d) AS vs_d, variance(d) FILTER (WHERE on_) AS v_on, stddev_pop(d) AS sp_d, stddev(r) AS sd_r, stddev(d) * 2 AS e, count(*) AS n FROM ms GROUP BY owner'
SELECT ivmx.create_immv('fl_grouped', :'fl_grouped');
SELECT ivmx.create_immv('fld_grouped', :'fl_grouped', mode => 'deferred');
\set fl_global 'SELECT var_pop(d) AS vp_d, stddev_samp(r) AS ss_r, coalesce(variance(d), -1) AS e FROM ms'
SELECT ivmx.create_immv('fl_global', :'fl_global');
SELECT ivmx.create_immv('fld_global', :'fl_global', mode => 'deferred');
SELECT ivmx.create_immv('fl_nested', 'SELECT n, max(sp_d) AS top, stddev(n) AS sd, count(*) AS c FROM fl_grouped GROUP BY n');
\set fl_join 'SELECT o.name, var_pop(m.d) AS vp_d, stddev(m.r) AS sd_r, count(m.id) AS n FROM owners o LEFT JOIN agg_more.ms m ON m.owner = o.oid GROUP BY o.name'
SELECT ivmx.create_immv('agg_more_loose.fl_join', :'fl_join');
SELECT ivmx.create_immv('agg_more_loose.fld_join', :'fl_join', mode => 'deferred');
:check;
:check_loose;
\set show_fl 'SELECT owner, round(vp_r::numeric, 8) AS vp_r, round(vs_d::numeric, 6) AS vs_d, round(v_on::numeric, 6) AS v_on, round(sp_d::numeric, 6) AS sp_d, round(sd_r::numeric, 8) AS sd_r, round(e::numeric, 6) AS e, n FROM fl_grouped ORDER BY owner'
:show_fl;
INSERT INTO ms VALUES (7, 2, 0.3, 0.3, true), (8, 3, 1e30, 'NaN', true), (9, 3, 2, 'Infinity', false), (10, 4, 5, 5, true);
:check;
:check_loose;
:flush;
:flush_loose;
:check;
:check_loose;
UPDATE ms SET d = d * 3 + 0.1, r = r / 3 WHERE owner IN (1, 2);
:check;
UPDATE ms SET d = 7 WHERE id IN (8, 9);
:check;
DELETE FROM ms WHERE id = 2;
:check;
:check_loose;
:flush;
:flush_loose;
:check;
:check_loose;
:show_fl;
TRUNCATE ms;
:check;
:check_loose;
:flush;
:flush_loose;
:check;
:check_loose;
INSERT INTO ms SELECT k, k % 11, k / 7.0, k * 0.37 + 1e6, k % 2 = 0 FROM generate_series(1, 500) k;
:check;
:check_loose;
DELETE FROM ms WHERE id % 3 = 0;
:check;
:check_loose;
:flush;
:flush_loose;
:check;
:check_loose;

---------------------------------------------------------------------------
-- string_agg, array_agg, json_agg, jsonb_agg and jsonb_object_agg with
-- ORDER BY inside: the IMMV holds the elements in the query's order.
INSERT INTO owners VALUES (1, 'ann'), (2, 'bob') ON CONFLICT DO NOTHING;
CREATE TABLE tags (id int PRIMARY KEY, owner int, tag text, w int, j jsonb, on_ boolean);
INSERT INTO tags VALUES (1, 1, 'red', 3, '{"a": 1}', true), (2, 1, 'blue', NULL, NULL, false),
    (3, 2, 'green', 1, '[1, 2]', true), (4, 2, NULL, 5, 'null', NULL), (5, NULL, 'red', 2, '"s"', true),
    (6, 1, 'a,b', -1, '{"b": [true]}', true);
\set list_grouped 'SELECT owner, string_agg(tag, '', '' ORDER BY tag, id) AS tags, array_agg(w ORDER BY id) AS ws, json_agg(tag ORDER BY id DESC) AS jt, jsonb_agg(j ORDER BY id) AS jj, jsonb_object_agg(coalesce(tag, ''-''), w ORDER BY id) AS obj, string_agg(tag, ''/'' ORDER BY id) FILTER (WHERE on_) AS on_tags, coalesce(string_agg(tag, '''' ORDER BY id), '''') AS e, array_length(array_agg(w ORDER BY id), 1) AS len, count(*) AS n FROM tags GROUP BY owner'
SELECT ivmx.create_immv('l_grouped', :'list_grouped');
SELECT ivmx.create_immv('ld_grouped', :'list_grouped', mode => 'deferred');
\set list_global 'SELECT string_agg(tag, '','' ORDER BY id) AS all_tags, jsonb_agg(w ORDER BY w, id) FILTER (WHERE w > 0) AS pos, coalesce(json_agg(j ORDER BY id)::text, ''[]'') AS e, array_agg(id ORDER BY id DESC) AS ids, string_agg(tag::bytea, '',''::bytea ORDER BY id) AS bin FROM tags'
SELECT ivmx.create_immv('l_global', :'list_global');
SELECT ivmx.create_immv('ld_global', :'list_global', mode => 'deferred');
\set list_join 'SELECT o.name, string_agg(t.tag, '','' ORDER BY t.id) AS tags, array_agg(t.w ORDER BY t.id) AS ws, jsonb_object_agg(o.oid, t.tag ORDER BY t.id) AS obj FROM owners o LEFT JOIN tags t ON t.owner = o.oid GROUP BY o.name'
SELECT ivmx.create_immv('l_join', :'list_join');
SELECT ivmx.create_immv('ld_join', :'list_join', mode => 'deferred');
SELECT ivmx.create_immv('l_nested', 'SELECT tags, count(*) AS c, string_agg(coalesce(owner, 0)::text, '','' ORDER BY owner) AS owners, array_agg(n ORDER BY owner) AS ns FROM l_grouped GROUP BY tags');
SELECT ivmx.create_immv('ld_nested', 'SELECT jsonb_agg(ws ORDER BY owner) AS all_ws FROM ld_grouped', mode => 'deferred');
\set show_lists 'SELECT owner, tags, ws, jt, jj, obj, on_tags, e, len, n FROM l_grouped ORDER BY owner'
:check;
:show_lists;
INSERT INTO tags VALUES (7, 3, 'zz', 9, '{}', true), (8, 1, 'blue', 4, '1', true), (9, 4, NULL, NULL, NULL, NULL);
:check;
:flush;
:check;
:show_lists;
UPDATE tags SET tag = upper(tag), w = w * 10 WHERE owner = 1;
:check;
UPDATE tags SET owner = 2 WHERE id = 7;
:check;
UPDATE tags SET j = '{"c": 3}' WHERE id = 3;
:check;
:flush;
:check;
:show_lists;
DELETE FROM tags WHERE on_ IS NOT TRUE;
:check;
DELETE FROM owners WHERE oid = 1;
:check;
:flush;
:check;
:show_lists;
SELECT name, tags, ws, obj FROM l_join ORDER BY name;
SELECT tags, c, owners, ns FROM l_nested ORDER BY tags;
BEGIN;
INSERT INTO tags VALUES (20, 3, 'x', 1, '2', true);
DELETE FROM tags WHERE id = 20;
UPDATE tags SET tag = 'first' WHERE id = 3;
INSERT INTO tags VALUES (21, 5, 'p', 1, '3', true), (22, 5, 'q', 2, '4', false);
COMMIT;
:check;
:flush;
:check;
SELECT all_tags, pos, e, ids, bin FROM l_global;
TRUNCATE tags;
:check;
:flush;
:check;
SELECT all_tags, pos, e, ids FROM l_global;
INSERT INTO tags SELECT k, k % 9, chr(97 + k % 26) || k, k % 13 - 6, to_jsonb(k % 4), k % 3 = 0
  FROM generate_series(1, 400) k;
:check;
:flush;
:check;
UPDATE tags SET tag = NULL WHERE id % 10 = 0;
DELETE FROM tags WHERE id % 6 = 0;
:check;
:flush;
:check;

-- Without ORDER BY, a list holds the group's elements in the order the
-- scan that last recomputed the group met them: the query's elements, in
-- an order PostgreSQL does not specify either. verify_immv compares such
-- columns as sorted lists of their elements (and expressions over them as
-- sorted lists of their characters).
\set any_order 'SELECT owner, string_agg(tag, '','') AS tags, array_agg(w) AS ws, json_agg(tag) AS jt, jsonb_agg(w) AS jw, coalesce(string_agg(tag, ''-''), '''') AS e, count(*) AS n FROM agg_more.tags GROUP BY owner'
SELECT ivmx.create_immv('agg_more_loose.l_any', :'any_order');
SELECT ivmx.create_immv('agg_more_loose.ld_any', :'any_order', mode => 'deferred');
SELECT ivmx.create_immv('agg_more_loose.l_any_global', 'SELECT array_agg(tag) AS tags, json_agg(w) FILTER (WHERE on_) AS ws FROM agg_more.tags');
\set show_any 'SELECT owner, (SELECT string_agg(p, '','' ORDER BY p) FROM unnest(string_to_array(tags, '','')) p) AS tags, (SELECT array_agg(v ORDER BY v) FROM unnest(ws) v) AS ws, json_array_length(jt) AS jt, jsonb_array_length(jw) AS jw, length(e) AS e, n FROM agg_more_loose.l_any ORDER BY owner'
:check_loose;
INSERT INTO tags VALUES (1000, 1, 'new', 7, '5', true), (1001, 10, 'only', NULL, NULL, false);
:check_loose;
UPDATE tags SET w = w + 1, tag = tag || '!' WHERE owner IN (1, 2);
:check_loose;
DELETE FROM tags WHERE owner = 3 OR id = 1001;
:check_loose;
:flush_loose;
:check_loose;
:show_any;
TRUNCATE tags;
:check_loose;
:flush_loose;
:check_loose;
SELECT owner, tags, ws, n FROM agg_more_loose.l_any ORDER BY owner;
SELECT tags, ws FROM agg_more_loose.l_any_global;

---------------------------------------------------------------------------
-- min and max over types with a btree ordering: text in two collations,
-- dates, timestamps with and without time zone, intervals, inet, arrays,
-- an enum, char(n), money, time, pg_lsn. Deleting an extreme recomputes it.
INSERT INTO owners VALUES (1, 'ann'), (2, 'bob') ON CONFLICT DO NOTHING;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE things (id int PRIMARY KEY, grp int, t text, tc text COLLATE "C", d date, ts timestamp, tz timestamptz,
    iv interval, ip inet, arr int[], m mood, ch char(3), mo money, tm time, lsn pg_lsn, on_ boolean);
INSERT INTO things VALUES
    (1, 1, 'apple', 'apple', '2024-01-05', '2024-01-05 10:00', '2024-01-05 10:00+00', '1 day', '10.0.0.1', '{1,2}', 'ok', 'ab', 1.50, '10:00', '0/10', true),
    (2, 1, 'Banana', 'Banana', '2023-12-31', '2024-02-01 00:00', '2024-01-05 09:00-03', '2 hours', '10.0.0.0/8', '{1,2,3}', 'happy', 'b', -2, '23:59:59', '1/0', false),
    (3, 2, 'cherry', 'cherry', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, 2, 'Date', 'Date', '2020-02-29', '1999-12-31 23:59', '1999-12-31 23:59+01', '-1 mon', '::1', '{}', 'sad', 'zz', 0, '00:00', '0/0', true),
    (5, NULL, 'éclair', 'éclair', '2100-01-01', 'infinity', '-infinity', '1 year', '192.168.1.1', '{NULL,1}', 'ok', 'a', 99.99, '12:00', 'FF/FF', true);
\set types_query 'SELECT grp, min(t COLLATE "und-x-icu") AS min_icu, max(t COLLATE "und-x-icu") AS max_icu, min(tc) AS min_c, max(tc) AS max_c, min(d) AS min_d, max(ts) AS max_ts, min(tz) AS min_tz, max(iv) AS max_iv, min(ip) AS min_ip, max(arr) AS max_arr, min(m) AS min_m, max(m) FILTER (WHERE on_) AS max_m, min(ch) AS min_ch, max(mo) AS max_mo, min(tm) AS min_tm, max(lsn) AS max_lsn, max(d) - min(d) AS span, count(*) AS n FROM things GROUP BY grp'
SELECT ivmx.create_immv('mm_types', :'types_query');
SELECT ivmx.create_immv('mmd_types', :'types_query', mode => 'deferred');
\set types_join 'SELECT o.name, min(t.tc) AS min_c, max(t.tz) AS max_tz, max(t.m) AS max_m, min(t.ip) AS min_ip FROM owners o LEFT JOIN things t ON t.grp = o.oid GROUP BY o.name'
SELECT ivmx.create_immv('mm_join', :'types_join');
SELECT ivmx.create_immv('mmd_join', :'types_join', mode => 'deferred');
SELECT ivmx.create_immv('mm_global', 'SELECT min(t COLLATE "C") AS min_c, max(iv) AS max_iv, max(arr) AS max_arr FROM things');
\set show_types 'SELECT grp, min_icu, max_icu, min_c, max_c, min_d, max_ts, min_tz, max_iv, min_ip, max_arr, min_m, max_m, min_ch, min_tm, max_lsn, span, n FROM mm_types ORDER BY grp'
:check;
:show_types;
DELETE FROM things WHERE id IN (1, 4);
:check;
INSERT INTO things VALUES (6, 1, 'aardvark', 'Aardvark', '2000-01-01', '2000-01-01', '2000-01-01 00:00+00', '3 days', '0.0.0.0', '{9}', 'happy', 'a', 1000, '00:00:01', '0/1', true),
    (7, 2, 'zebra', 'zebra', '2030-01-01', '2030-01-01', '2030-01-01 00:00+00', '1 mon', '255.255.255.255', '{0}', 'sad', 'zzz', -1000, '23:00', 'FFFFFFFF/FFFFFFFF', false);
:check;
UPDATE things SET grp = 2 WHERE id = 2;
UPDATE things SET t = upper(t), tc = lower(tc), m = 'sad' WHERE grp = 1;
:check;
:flush;
:check;
:show_types;
SELECT name, min_c, max_tz, max_m, min_ip FROM mm_join ORDER BY name;
TRUNCATE things;
:check;
:flush;
:check;
SELECT min_c, max_iv, max_arr FROM mm_global;
-- (The type goes once no IMMV and no delta log has a column of it.)
DROP TABLE mm_types, mmd_types, mm_join, mmd_join, mm_global, things;
DROP TYPE mood;

---------------------------------------------------------------------------
-- An IMMV is its owner's query: an owner who may read only some rows (row
-- level security) and some columns of a table gets a string_agg of those
-- rows, however the table changes, and a role without a grant on the IMMV
-- cannot read it.
CREATE SCHEMA agg_more_sec;
CREATE ROLE regress_ivmx_agg_owner;
CREATE ROLE regress_ivmx_agg_reader;
CREATE TABLE agg_more_sec.notes (id int PRIMARY KEY, team int, note text, pin text);
INSERT INTO agg_more_sec.notes VALUES (1, 1, 'one', '1111'), (2, 2, 'two', '2222'), (3, 1, 'three', '3333');
ALTER TABLE agg_more_sec.notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_one ON agg_more_sec.notes FOR SELECT TO regress_ivmx_agg_owner USING (team = 1);
GRANT USAGE, CREATE ON SCHEMA agg_more_sec TO regress_ivmx_agg_owner;
GRANT USAGE ON SCHEMA agg_more_sec TO regress_ivmx_agg_reader;
GRANT SELECT (id, team, note), TRIGGER ON agg_more_sec.notes TO regress_ivmx_agg_owner;
SET ROLE regress_ivmx_agg_owner;
SELECT ivmx.create_immv('agg_more_sec.team_notes', 'SELECT team, string_agg(note, '','' ORDER BY id) AS notes, array_agg(id ORDER BY id) AS ids, count(*) AS n FROM agg_more_sec.notes GROUP BY team');
SELECT ivmx.create_immv('agg_more_sec.team_notes_d', 'SELECT string_agg(note, '','' ORDER BY note) AS notes FROM agg_more_sec.notes', mode => 'deferred');
-- The pins are not the owner's to read.
SELECT ivmx.create_immv('agg_more_sec.pins', 'SELECT team, string_agg(pin, '','') AS pins FROM agg_more_sec.notes GROUP BY team');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, to_regclass('agg_more_sec.pins') AS pins;
RESET ROLE;
\set show_sec 'SET ROLE regress_ivmx_agg_owner; SELECT team, notes, ids, n, ivmx.verify_immv(''agg_more_sec.team_notes'') AS verify FROM agg_more_sec.team_notes ORDER BY team; SELECT ivmx.flush(''agg_more_sec.team_notes_d'') > 0 AS flushed; SELECT notes, ivmx.verify_immv(''agg_more_sec.team_notes_d'') AS verify FROM agg_more_sec.team_notes_d; RESET ROLE;'
:show_sec
INSERT INTO agg_more_sec.notes VALUES (4, 1, 'four', '4444'), (5, 2, 'five', '5555'), (6, 3, 'six', '6666');
UPDATE agg_more_sec.notes SET note = note || '!', team = 3 - team WHERE id IN (2, 3);
:show_sec
DELETE FROM agg_more_sec.notes WHERE id = 1;
:show_sec
-- Another role cannot read the IMMV, nor verify it, without a grant; with
-- one it reads what the owner's query returns, nothing more.
SET ROLE regress_ivmx_agg_reader;
SELECT team, notes FROM agg_more_sec.team_notes ORDER BY team;
SELECT ivmx.verify_immv('agg_more_sec.team_notes');
RESET ROLE;
GRANT SELECT ON agg_more_sec.team_notes TO regress_ivmx_agg_reader;
SET ROLE regress_ivmx_agg_reader;
SELECT team, notes, n FROM agg_more_sec.team_notes ORDER BY team;
SELECT notes FROM agg_more_sec.team_notes_d;
RESET ROLE;

---------------------------------------------------------------------------
-- What stays refused, with 0A000, leaving nothing behind: DISTINCT inside
-- the new aggregates, ORDER BY inside aggregates whose value does not
-- follow the order of their inputs, aggregates not maintained.
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE ''rej%'') AS relations'
SELECT ivmx.create_immv('rej', 'SELECT owner, string_agg(DISTINCT tag, '','') AS r FROM tags GROUP BY owner');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT owner, stddev(w ORDER BY id) AS r FROM tags GROUP BY owner');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT owner, json_object_agg(tag, w) AS r FROM tags GROUP BY owner');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT owner, xmlagg(xmlelement(name t, tag)) AS r FROM tags GROUP BY owner');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT owner, mode() WITHIN GROUP (ORDER BY w) AS r FROM tags GROUP BY owner');
:rejected;

DROP SCHEMA agg_more_sec CASCADE;
DROP ROLE regress_ivmx_agg_owner;
DROP ROLE regress_ivmx_agg_reader;
DROP SCHEMA agg_more_loose CASCADE;
DROP SCHEMA agg_more CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
