CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- FILTER (WHERE ...) on count(*), count, sum, avg, min and max, alone and
-- inside expressions, with GROUP BY and without, over a join and an outer
-- join, in immediate and deferred mode, and in nested IMMVs: the condition
-- selects the changed rows each aggregate accumulates and the rows a
-- recompute of a lost min/max reads. :check compares every IMMV with its query after each change,
-- with verify_immv and by the text form of its visible columns (EXCEPT ALL
-- both ways), so that 1.00 and 1 differ.
-- setup/aggregate_checks.sql turns the scheduler off (only ivmx.flush
-- applies deferred changes) and defines :check and :flush.
\set schema agg_filter
\getenv abs_srcdir PG_ABS_SRCDIR
\set setup :abs_srcdir '/setup/aggregate_checks.sql'
\i :setup

CREATE TABLE shops (sid int PRIMARY KEY, region text);
CREATE TABLE sales (id int PRIMARY KEY, sid int, kind text, qty int, price numeric(10,2), at date);
INSERT INTO shops VALUES (1, 'north'), (2, 'south'), (3, NULL);
INSERT INTO sales VALUES
    (1, 1, 'retail', 5, 10.00, '2024-01-01'),
    (2, 1, 'online', 3, 20.50, '2024-01-02'),
    (3, 2, 'retail', NULL, 5.25, '2024-01-03'),
    (4, 2, 'online', -4, NULL, NULL),
    (5, NULL, NULL, 8, 1.00, '2024-01-05');

\set grouped_query 'SELECT sid, count(*) AS n, count(*) FILTER (WHERE kind = ''online'') AS n_online, count(qty) FILTER (WHERE qty > 0) AS n_pos, sum(qty) FILTER (WHERE kind = ''retail'') AS retail_qty, avg(price) FILTER (WHERE qty IS NOT NULL) AS avg_price, min(price) FILTER (WHERE kind = ''online'') AS min_online, max(at) FILTER (WHERE qty > 0) AS last_pos, max(qty) FILTER (WHERE kind IS DISTINCT FROM ''online'') AS max_other, coalesce(sum(qty) FILTER (WHERE qty < 0), 0) + 1000 AS neg1000 FROM sales GROUP BY sid'
SELECT ivmx.create_immv('f_grouped', :'grouped_query');
SELECT ivmx.create_immv('fd_grouped', :'grouped_query', mode => 'deferred');
\set global_query 'SELECT count(*) FILTER (WHERE price > 5) AS n_dear, sum(price) FILTER (WHERE kind = ''online'') AS online_total, min(qty) FILTER (WHERE kind = ''retail'') AS min_retail, max(qty) FILTER (WHERE kind = ''retail'') - min(qty) FILTER (WHERE kind = ''retail'') AS retail_spread FROM sales'
SELECT ivmx.create_immv('f_global', :'global_query');
SELECT ivmx.create_immv('fd_global', :'global_query', mode => 'deferred');
-- The same aggregate with and without a filter are two aggregates.
SELECT ivmx.create_immv('f_pair',
    'SELECT kind, sum(qty) AS all_qty, sum(qty) FILTER (WHERE sid = 1) AS shop1_qty,
            sum(qty) FILTER (WHERE sid = 1) * 2 AS shop1_twice FROM sales GROUP BY kind');
-- Over an outer join: the filter reads both sides.
\set join_query 'SELECT s.region, count(*) FILTER (WHERE x.kind = ''online'') AS n_online, sum(x.qty) FILTER (WHERE s.sid > 1) AS qty_late, max(x.price) FILTER (WHERE x.qty > 0) AS max_price FROM shops s LEFT JOIN sales x ON x.sid = s.sid GROUP BY s.region'
SELECT ivmx.create_immv('f_join', :'join_query');
SELECT ivmx.create_immv('fd_join', :'join_query', mode => 'deferred');
-- Nested: a filtered aggregate over an IMMV with filtered aggregates.
SELECT ivmx.create_immv('f_nested',
    'SELECT n_online > 0 AS has_online, count(*) FILTER (WHERE retail_qty IS NOT NULL) AS with_retail,
            max(max_other) FILTER (WHERE n > 1) AS top FROM f_grouped GROUP BY n_online > 0');
SELECT ivmx.create_immv('fd_nested',
    'SELECT sum(n) FILTER (WHERE sid IS NOT NULL) AS n_known, min(min_online) FILTER (WHERE n_pos > 0) AS lo
       FROM fd_grouped', mode => 'deferred');
:check;
SELECT sid, n, n_online, n_pos, retail_qty, avg_price, min_online, last_pos, max_other, neg1000 FROM f_grouped ORDER BY sid;
SELECT n_dear, online_total, min_retail, retail_spread FROM f_global;

-- INSERT rows inside and outside the filters; a new group whose rows all
-- fail a filter (its filtered aggregates are NULL or 0).
INSERT INTO sales VALUES (6, 1, 'online', 7, 3.10, '2024-02-01'), (7, 3, 'retail', 2000000000, 99999999.99, '2024-02-02'),
    (8, 4, 'wholesale', 0, 0, '2024-02-03'), (9, 2, 'online', 1, 0.01, NULL);
:check;
:flush;
:check;
SELECT sid, n, n_online, n_pos, retail_qty, avg_price, min_online, last_pos, max_other, neg1000 FROM f_grouped ORDER BY sid;

-- UPDATE moves rows into and out of filters, and the filtered extremes.
UPDATE sales SET kind = 'online' WHERE id = 1;
:check;
UPDATE sales SET qty = -qty WHERE sid = 1;
:check;
UPDATE sales SET price = price + 100 WHERE kind = 'online';
:check;
UPDATE sales SET kind = NULL WHERE id = 3;
:check;
:flush;
:check;
SELECT sid, n, n_online, n_pos, retail_qty, avg_price, min_online, last_pos, max_other, neg1000 FROM f_grouped ORDER BY sid;
SELECT n_dear, online_total, min_retail, retail_spread FROM f_global;

-- DELETE the filtered extremes; the last row a filter accepts; a group.
DELETE FROM sales WHERE id = (SELECT id FROM sales WHERE kind = 'online' ORDER BY price LIMIT 1);
:check;
DELETE FROM sales WHERE kind = 'retail';
:check;
DELETE FROM sales WHERE sid = 4;
:check;
UPDATE shops SET region = 'east' WHERE sid = 3;
DELETE FROM shops WHERE sid = 1;
:check;
:flush;
:check;
SELECT sid, n, n_online, n_pos, retail_qty, avg_price, min_online, last_pos, max_other, neg1000 FROM f_grouped ORDER BY sid;
SELECT region, n_online, qty_late, max_price FROM f_join ORDER BY region;

-- A transaction whose rows cancel each other within a deferred batch.
BEGIN;
INSERT INTO sales VALUES (20, 2, 'online', 9, 0.50, '2025-01-01');
UPDATE sales SET qty = 10 WHERE id = 20;
DELETE FROM sales WHERE id = 20;
INSERT INTO sales VALUES (21, 2, 'online', 2, 0.75, '2025-01-02');
COMMIT;
:check;
:flush;
:check;

-- TRUNCATE, then rows again.
TRUNCATE sales;
:check;
:flush;
:check;
SELECT n_dear, online_total, min_retail, retail_spread FROM f_global;
INSERT INTO sales VALUES (30, 2, 'online', 4, 2.00, '2025-02-01'), (31, 2, 'retail', 6, 3.00, '2025-02-02');
:check;
:flush;
:check;

-- A filter that cannot be maintained is refused with 0A000 and leaves
-- nothing behind.
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE ''rej%'') AS relations'
SELECT ivmx.create_immv('rej', 'SELECT sid, count(*) FILTER (WHERE random() > 0.5) AS r FROM sales GROUP BY sid');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT sid, sum(qty) FILTER (WHERE at > now()) AS r FROM sales GROUP BY sid');
:rejected;
SELECT ivmx.create_immv('rej', 'SELECT sid, count(*) FILTER (WHERE id IN (SELECT sid FROM shops)) AS r FROM sales GROUP BY sid');
:rejected;

DROP SCHEMA agg_filter CASCADE;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
