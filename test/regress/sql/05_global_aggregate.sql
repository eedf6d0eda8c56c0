CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Aggregates without GROUP BY: the IMMV always has exactly one row, as the
-- query does, also over an empty table (count 0, other aggregates NULL).
-- :verify checks every IMMV of this file against its query.

CREATE TABLE readings (id int PRIMARY KEY, sensor text, val int, temp numeric(5,1), ratio float8);

-- Created over an empty table.
SELECT ivmx.create_immv('totals',
    'SELECT count(*) AS n, count(val) AS n_val, sum(val) AS sum_val, avg(val) AS avg_val,
            min(val) AS min_val, max(val) AS max_val, sum(temp) AS sum_temp,
            avg(temp) AS avg_temp, sum(ratio) AS sum_ratio, avg(ratio) AS avg_ratio
       FROM readings');
-- With a WHERE clause, and a single aggregate.
SELECT ivmx.create_immv('hot', 'SELECT count(*) AS n, max(temp) AS hottest FROM readings WHERE temp > 20');
SELECT ivmx.create_immv('just_sum', 'SELECT sum(val * 2) AS doubled FROM readings');

\set verify 'SELECT ivmx.verify_immv(''totals'') AS totals, ivmx.verify_immv(''hot'') AS hot, ivmx.verify_immv(''just_sum'') AS just_sum'
\set show 'SELECT n, n_val, sum_val, avg_val, min_val, max_val, sum_temp, avg_temp, sum_ratio, avg_ratio FROM totals'
\set show_others 'SELECT h.n, h.hottest, s.doubled FROM hot h, just_sum s'
:verify;
:show;
:show_others;
-- No group key, so no index; the single row's multiplicity is kept.
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'totals'::regclass;

INSERT INTO readings VALUES (1, 'a', 10, 21.5, 0.5);
:verify;
:show;
INSERT INTO readings VALUES (2, 'a', 20, 19.0, 0.25), (3, 'b', NULL, NULL, NULL), (4, 'b', -5, 30.0, 1.5);
:verify;
:show;
:show_others;
UPDATE readings SET val = val + 1;
:verify;
UPDATE readings SET temp = 25.5 WHERE id = 2;           -- into the filter of hot
:verify;
UPDATE readings SET temp = 10.0 WHERE id = 4;           -- hot loses its maximum
:verify;
UPDATE readings SET val = NULL, ratio = NULL WHERE id IN (1, 2);
:verify;
:show;
:show_others;
UPDATE readings SET val = 7, ratio = 2.25 WHERE id = 3;
:verify;
:show;
DELETE FROM readings WHERE id = 4;
:verify;
:show;
-- Deleting every row keeps the single row: count 0, the rest NULL.
DELETE FROM readings;
:verify;
:show;
:show_others;
SELECT count(*) AS totals_rows FROM totals;

-- Transactions.
BEGIN;
INSERT INTO readings VALUES (1, 'a', 1, 1.0, 0.5), (2, 'b', 2, 22.0, 0.75);
:verify;
SAVEPOINT s;
DELETE FROM readings WHERE id = 1;
:verify;
:show;
ROLLBACK TO SAVEPOINT s;
:verify;
:show;
COMMIT;
:verify;
BEGIN;
UPDATE readings SET val = val * 100;
:verify;
ROLLBACK;
:verify;
:show;

COPY readings FROM STDIN;
10	c	100	40.0	4.5
11	c	\N	\N	\N
\.
:verify;
:show;
:show_others;

-- TRUNCATE keeps the single row too.
TRUNCATE readings;
:verify;
:show;
:show_others;
SELECT (SELECT count(*) FROM totals) AS totals, (SELECT count(*) FROM hot) AS hot,
       (SELECT count(*) FROM just_sum) AS just_sum;
INSERT INTO readings VALUES (1, 'z', 3, 20.5, 0.125);
:verify;
:show;

-- Created over a non-empty table.
SELECT ivmx.create_immv('late', 'SELECT count(*) AS n, sum(val) AS s FROM readings');
SELECT n, s FROM late;
\set verify 'SELECT ivmx.verify_immv(''totals'') AS totals, ivmx.verify_immv(''hot'') AS hot, ivmx.verify_immv(''just_sum'') AS just_sum, ivmx.verify_immv(''late'') AS late'
:verify;
DELETE FROM readings;
:verify;
SELECT n, s FROM late;

DROP TABLE readings CASCADE;
