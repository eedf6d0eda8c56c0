CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Aggregates over the built-in types they support: sum/avg over smallint,
-- integer, bigint, numeric with a scale, real, double precision and interval
-- (sum also over money); min/max over numbers, text, varchar, char, date,
-- timestamp, timestamptz, interval, enums and inet; NULLs throughout.
-- Float values are exactly representable, so float sums compare exactly.
-- :verify checks every IMMV of this file against its query.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'UTC';
SET IntervalStyle = 'postgres';
SET lc_monetary = 'C';

CREATE TABLE nums (
    id int PRIMARY KEY,
    g text COLLATE "C",
    i2 smallint,
    i4 int,
    i8 bigint,
    n numeric(12,3),
    f4 real,
    f8 double precision,
    iv interval
);
INSERT INTO nums VALUES
    (1, 'a', 1, 10, 10000000000, 1.125, 0.5, 0.25, '1 day'),
    (2, 'a', 2, 20, 20000000000, 2.250, 1.5, 0.75, '12:00:00'),
    (3, 'b', -3, -30, -30000000000, -3.500, -2.25, 8.5, '1 mon 2 days'),
    (4, 'b', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (5, NULL, 32767, 2147483647, 9223372036854775807, 999999999.999, 1024, 0.125, '-1 hour');

SELECT ivmx.create_immv('num_sums',
    'SELECT g, sum(i2) AS s2, sum(i4) AS s4, sum(i8) AS s8, sum(n) AS sn, sum(f4) AS sf4,
            sum(f8) AS sf8, sum(iv) AS siv, count(*) AS cnt
       FROM nums GROUP BY g');
SELECT ivmx.create_immv('num_avgs',
    'SELECT g, avg(i2) AS a2, avg(i4) AS a4, avg(i8) AS a8, avg(n) AS an, avg(f4) AS af4,
            avg(f8) AS af8, avg(iv) AS aiv
       FROM nums GROUP BY g');
SELECT ivmx.create_immv('num_extremes',
    'SELECT min(i2) AS min2, max(i8) AS max8, min(n) AS minn, max(n) AS maxn,
            min(f4) AS minf4, max(f8) AS maxf8, min(iv) AS miniv, max(iv) AS maxiv
       FROM nums');

-- The IMMV columns have the types the aggregates return.
SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
 WHERE attrelid = 'num_sums'::regclass AND attnum > 0 AND attname NOT LIKE '\_\_ivm%' ORDER BY attnum;
SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
 WHERE attrelid = 'num_avgs'::regclass AND attnum > 0 AND attname NOT LIKE '\_\_ivm%' ORDER BY attnum;

\set verify 'SELECT ivmx.verify_immv(''num_sums'') AS num_sums, ivmx.verify_immv(''num_avgs'') AS num_avgs, ivmx.verify_immv(''num_extremes'') AS num_extremes'
\set show_sums 'SELECT g, s2, s4, s8, sn, sf4, sf8, siv, cnt FROM num_sums ORDER BY g'
\set show_avgs 'SELECT g, a2, a4, a8, an, af4, af8, aiv FROM num_avgs ORDER BY g'
\set show_extremes 'SELECT min2, max8, minn, maxn, minf4, maxf8, miniv, maxiv FROM num_extremes'
:verify;
:show_sums;
SELECT g, sum(i2) AS s2, sum(i4) AS s4, sum(i8) AS s8, sum(n) AS sn, sum(f4) AS sf4,
       sum(f8) AS sf8, sum(iv) AS siv, count(*) AS cnt
  FROM nums GROUP BY g ORDER BY g;
:show_avgs;
SELECT g, avg(i2) AS a2, avg(i4) AS a4, avg(i8) AS a8, avg(n) AS an, avg(f4) AS af4,
       avg(f8) AS af8, avg(iv) AS aiv
  FROM nums GROUP BY g ORDER BY g;
:show_extremes;

INSERT INTO nums VALUES (6, 'a', 4, 40, 40000000000, 0.001, 0.125, 1.5, '00:00:01');
:verify;
INSERT INTO nums VALUES (7, 'c', NULL, 7, NULL, 7.000, NULL, 7.25, NULL), (8, NULL, -32768, -1, -1, -0.001, -1024, -0.125, '1 hour');
:verify;
:show_sums;
:show_avgs;
:show_extremes;
UPDATE nums SET i2 = i2 * 2, n = n * 2, f4 = f4 * 2, iv = iv * 2 WHERE g = 'a';
:verify;
UPDATE nums SET g = 'b' WHERE id = 1;
:verify;
UPDATE nums SET f8 = NULL, iv = NULL WHERE g = 'b';
:verify;
UPDATE nums SET n = 999999999.999 WHERE id = 2;       -- ties the maximum
:verify;
:show_sums;
:show_avgs;
:show_extremes;
DELETE FROM nums WHERE id = 5;                        -- holds several extremes
:verify;
:show_extremes;
DELETE FROM nums WHERE g = 'b';
:verify;
:show_sums;
:show_avgs;
:show_extremes;
BEGIN;
DELETE FROM nums;
:verify;
:show_extremes;
ROLLBACK;
:verify;
COPY nums FROM STDIN;
20	d	5	50	50	5.500	2.5	0.5	2 days 03:00:00
21	d	\N	\N	\N	\N	\N	\N	\N
\.
:verify;
:show_sums;
:show_avgs;
TRUNCATE nums;
:verify;
:show_extremes;
INSERT INTO nums VALUES (1, 'z', 1, 1, 1, 0.500, 0.5, 0.5, '1 sec');
:verify;
:show_avgs;

-- min/max over orderable non-numeric types.
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE things (
    id int PRIMARY KEY,
    k int,
    s text COLLATE "C",
    vc varchar(10) COLLATE "C",
    c char(3) COLLATE "C",
    d date,
    ts timestamp,
    tz timestamptz,
    m mood,
    ip inet
);
INSERT INTO things VALUES
    (1, 1, 'pear', 'x', 'aa', '2020-02-29', '2020-01-01 10:00', '2020-01-01 10:00+00', 'ok', '10.0.0.1'),
    (2, 1, 'apple', 'yy', 'b', '1999-12-31', '2021-06-30 23:59:59', '2020-01-01 09:00-02', 'sad', '10.0.0.2'),
    (3, 2, 'Zebra', NULL, 'ccc', NULL, '1970-01-01 00:00', NULL, 'happy', '192.168.0.1'),
    (4, 2, NULL, 'aaa', NULL, '2000-01-01', NULL, '2000-01-01 00:00+00', NULL, NULL);
SELECT ivmx.create_immv('thing_range',
    'SELECT k, min(s) AS min_s, max(s) AS max_s, min(vc) AS min_vc, max(vc) AS max_vc,
            min(c) AS min_c, max(c) AS max_c, min(d) AS min_d, max(d) AS max_d,
            min(ts) AS min_ts, max(ts) AS max_ts, min(tz) AS min_tz, max(tz) AS max_tz,
            min(m) AS min_m, max(m) AS max_m, min(ip) AS min_ip, max(ip) AS max_ip
       FROM things GROUP BY k');
SELECT ivmx.create_immv('thing_all',
    'SELECT min(s) AS min_s, max(d) AS max_d, min(ts) AS min_ts, max(tz) AS max_tz, max(m) AS max_m FROM things');
\set verify 'SELECT ivmx.verify_immv(''thing_range'') AS thing_range, ivmx.verify_immv(''thing_all'') AS thing_all'
\set show 'SELECT k, min_s, max_s, min_vc, max_vc, min_c, max_c, min_d, max_d FROM thing_range ORDER BY k'
\set show_time 'SELECT k, min_ts, max_ts, min_tz, max_tz, min_m, max_m, min_ip, max_ip FROM thing_range ORDER BY k'
:verify;
:show;
:show_time;
SELECT min_s, max_d, min_ts, max_tz, max_m FROM thing_all;
INSERT INTO things VALUES (5, 1, 'Apple', 'zzzzzzzzzz', 'a', '2020-03-01', '2021-07-01', '2030-01-01 00:00+00', 'happy', '1.1.1.1');
:verify;
:show;
:show_time;
DELETE FROM things WHERE id = 5;
:verify;
UPDATE things SET s = NULL, d = NULL, ts = NULL, tz = NULL, m = NULL WHERE k = 1;
:verify;
:show;
:show_time;
SELECT min_s, max_d, min_ts, max_tz, max_m FROM thing_all;
UPDATE things SET k = 1 WHERE k = 2;
:verify;
:show;
:show_time;
DELETE FROM things WHERE id IN (3, 4);
:verify;
:show;
SELECT min_s, max_d, min_ts, max_tz, max_m FROM thing_all;
TRUNCATE things;
:verify;
SELECT min_s, max_d, min_ts, max_tz, max_m FROM thing_all;

-- sum over money, including deletes and updates.
CREATE TABLE ledger (id int PRIMARY KEY, acct int, amount money);
INSERT INTO ledger VALUES (1, 1, 1.50), (2, 1, 2.25), (3, 2, -3.00), (4, 2, NULL);
SELECT ivmx.create_immv('ledger_sums', 'SELECT acct, sum(amount) AS total, count(amount) AS n FROM ledger GROUP BY acct');
SELECT ivmx.create_immv('ledger_total', 'SELECT sum(amount) AS total, min(amount) AS lo, max(amount) AS hi FROM ledger');
\set verify 'SELECT ivmx.verify_immv(''ledger_sums'') AS ledger_sums, ivmx.verify_immv(''ledger_total'') AS ledger_total'
:verify;
INSERT INTO ledger VALUES (5, 1, 0.25);
:verify;
SELECT acct, total, n FROM ledger_sums ORDER BY acct;
DELETE FROM ledger WHERE id = 1;
:verify;
UPDATE ledger SET acct = 2 WHERE id = 2;
:verify;
UPDATE ledger SET amount = amount * 2;
:verify;
SELECT acct, total, n FROM ledger_sums ORDER BY acct;
SELECT total, lo, hi FROM ledger_total;
DELETE FROM ledger;
:verify;
SELECT total, lo, hi FROM ledger_total;

-- Infinity and NaN: removing them must give back the sums of what remains.
CREATE TABLE specials (id int PRIMARY KEY, g int, f float8, n numeric);
INSERT INTO specials VALUES (1, 1, 1.5, 1.5), (2, 1, 'Infinity', 'NaN'), (3, 1, '-Infinity', 2), (4, 2, 'NaN', 'Infinity');
SELECT ivmx.create_immv('special_sums', 'SELECT g, sum(f) AS sf, avg(f) AS af, sum(n) AS sn, avg(n) AS an FROM specials GROUP BY g');
\set verify 'SELECT ivmx.verify_immv(''special_sums'') AS special_sums'
:verify;
SELECT g, sf, af, sn, round(an, 4) AS an FROM special_sums ORDER BY g;
DELETE FROM specials WHERE id = 2;
:verify;
DELETE FROM specials WHERE id = 3;
:verify;
UPDATE specials SET f = 0.5, n = 0.5 WHERE id = 4;
:verify;
SELECT g, sf, af, sn, round(an, 4) AS an FROM special_sums ORDER BY g;
SELECT g, sum(f) AS sf, avg(f) AS af, sum(n) AS sn, round(avg(n), 4) AS an FROM specials GROUP BY g ORDER BY g;

DROP TABLE nums, things, ledger, specials CASCADE;
DROP TYPE mood;
