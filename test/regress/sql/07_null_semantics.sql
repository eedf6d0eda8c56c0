CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- NULL semantics: NULL group keys (alone and in composite keys) form their
-- own groups, aggregates skip NULL inputs (sum/avg/min/max are NULL when a
-- group has no non-NULL input, count(x) counts only non-NULL), WHERE keeps
-- only rows whose condition is true, DISTINCT treats NULLs as equal, and bag
-- rows holding NULLs are matched correctly on delete.
-- :verify checks every IMMV of this file against its query.

CREATE TABLE t (id int PRIMARY KEY, a int, b text, x int, y float8);
INSERT INTO t VALUES
    (1, 1, 'p', 10, 0.5), (2, 1, NULL, NULL, NULL), (3, NULL, 'p', 5, NULL),
    (4, NULL, NULL, NULL, 1.5), (5, NULL, NULL, 7, NULL), (6, 2, 'q', NULL, NULL);

SELECT ivmx.create_immv('grp_ab',
    'SELECT a, b, count(*) AS n, count(x) AS nx, sum(x) AS sx, avg(x) AS ax,
            min(x) AS mnx, max(y) AS mxy, sum(y) AS sy
       FROM t GROUP BY a, b');
SELECT ivmx.create_immv('grp_expr', 'SELECT a + x AS s, count(*) AS n FROM t GROUP BY a + x');
SELECT ivmx.create_immv('dist_ab', 'SELECT DISTINCT a, b FROM t');
SELECT ivmx.create_immv('bag_ab', 'SELECT a, b, x FROM t');
-- Three-valued logic in WHERE: rows with NULL a are not "a <> 1".
SELECT ivmx.create_immv('not_one', 'SELECT id, a FROM t WHERE a <> 1');
SELECT ivmx.create_immv('distinct_from_one', 'SELECT id, a FROM t WHERE a IS DISTINCT FROM 1');
SELECT ivmx.create_immv('coalesced',
    'SELECT coalesce(b, ''-'') AS b, sum(coalesce(x, 0)) AS sx, count(*) AS n FROM t GROUP BY coalesce(b, ''-'')');

\set verify 'SELECT ivmx.verify_immv(''grp_ab'') AS grp_ab, ivmx.verify_immv(''grp_expr'') AS grp_expr, ivmx.verify_immv(''dist_ab'') AS dist_ab, ivmx.verify_immv(''bag_ab'') AS bag_ab, ivmx.verify_immv(''not_one'') AS not_one, ivmx.verify_immv(''distinct_from_one'') AS distinct_from_one, ivmx.verify_immv(''coalesced'') AS coalesced'
\set show 'SELECT a, b, n, nx, sx, ax, mnx, mxy, sy FROM grp_ab ORDER BY a, b'
:verify;
:show;
SELECT s, n FROM grp_expr ORDER BY s;
SELECT a, b FROM dist_ab ORDER BY a, b;
SELECT id, a FROM not_one ORDER BY id;
SELECT id, a FROM distinct_from_one ORDER BY id;
SELECT b, sx, n FROM coalesced ORDER BY b;

-- NULL group keys receive, lose and move rows.
INSERT INTO t VALUES (7, NULL, NULL, 3, 2.25), (8, 1, NULL, 4, NULL);
:verify;
:show;
UPDATE t SET a = NULL WHERE id = 1;            -- (1,'p') -> (NULL,'p')
:verify;
UPDATE t SET b = NULL WHERE id = 3;            -- (NULL,'p') -> (NULL,NULL)
:verify;
:show;
UPDATE t SET a = 3, b = 'r' WHERE a IS NULL AND b IS NULL;   -- the (NULL,NULL) group empties
:verify;
:show;
SELECT a, b FROM dist_ab ORDER BY a, b;
UPDATE t SET a = NULL, b = NULL WHERE id IN (5, 7);          -- and comes back
:verify;
:show;

-- Aggregated values to and from NULL: the group stays, its sums become NULL.
UPDATE t SET x = NULL, y = NULL WHERE a = 3;
:verify;
:show;
UPDATE t SET x = 0, y = 0 WHERE id = 4;
:verify;
SELECT a, b, n, nx, sx, ax, mnx, mxy, sy FROM grp_ab WHERE a = 3;
SELECT s, n FROM grp_expr ORDER BY s;
SELECT id, a FROM not_one ORDER BY id;
SELECT id, a FROM distinct_from_one ORDER BY id;
SELECT b, sx, n FROM coalesced ORDER BY b;

-- Bag rows that are entirely NULL.
INSERT INTO t VALUES (9, NULL, NULL, NULL, NULL), (10, NULL, NULL, NULL, NULL);
:verify;
SELECT a, b, x, count(*) AS copies FROM bag_ab GROUP BY a, b, x ORDER BY a, b, x;
DELETE FROM t WHERE id = 9;
:verify;
UPDATE t SET x = 1 WHERE id = 10;
:verify;
SELECT a, b, x, count(*) AS copies FROM bag_ab GROUP BY a, b, x ORDER BY a, b, x;

-- Deleting the NULL groups.
DELETE FROM t WHERE a IS NULL;
:verify;
:show;
SELECT a, b FROM dist_ab ORDER BY a, b;
DELETE FROM t WHERE b IS NULL;
:verify;
:show;
SELECT s, n FROM grp_expr ORDER BY s;

BEGIN;
INSERT INTO t VALUES (20, NULL, NULL, NULL, NULL);
:verify;
SAVEPOINT s;
UPDATE t SET a = NULL;
:verify;
:show;
ROLLBACK TO SAVEPOINT s;
:verify;
ROLLBACK;
:verify;
:show;

COPY t FROM STDIN;
30	\N	\N	\N	\N
31	\N	x	\N	\N
\.
:verify;
:show;
TRUNCATE t;
:verify;
INSERT INTO t VALUES (1, NULL, NULL, NULL, NULL);
:verify;
:show;
SELECT s, n FROM grp_expr ORDER BY s;
SELECT b, sx, n FROM coalesced ORDER BY b;
DELETE FROM t;
:verify;
SELECT (SELECT count(*) FROM grp_ab) AS grp_ab, (SELECT count(*) FROM dist_ab) AS dist_ab,
       (SELECT count(*) FROM bag_ab) AS bag_ab;

DROP TABLE t CASCADE;
