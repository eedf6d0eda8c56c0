CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Projection and selection over one table (bag views without aggregates).
-- After every writing statement each IMMV is compared with its defining query
-- by ivmx.verify_immv (0 = identical, as a bag); :verify runs that check for
-- every IMMV of this file.

CREATE TABLE emp (
    id int PRIMARY KEY,
    name text NOT NULL,
    dept text,
    salary int NOT NULL,
    bonus int
);
INSERT INTO emp VALUES
    (1, 'ann', 'sales', 3000, 100),
    (2, 'bob', 'sales', 2000, NULL),
    (3, 'cid', 'dev', 4000, 500),
    (4, 'dee', NULL, 1500, 50);

-- Selects the primary key: rows are matched by key, with an index on it.
SELECT ivmx.create_immv('emp_pk', 'SELECT id, name, salary FROM emp');
-- Expressions and a WHERE clause, no key: rows are matched by value.
SELECT ivmx.create_immv('emp_expr',
    'SELECT name, salary * 12 AS yearly, coalesce(bonus, 0) + salary AS total,
            upper(dept) AS dept_uc
       FROM emp WHERE salary >= 2000 AND dept IS NOT NULL');
-- SELECT * with a filter on a nullable column.
SELECT ivmx.create_immv('emp_sales', 'SELECT * FROM emp WHERE dept = ''sales''');
-- A constant column and a single non-key column.
SELECT ivmx.create_immv('emp_const', 'SELECT 1 AS one, dept FROM emp');

\set verify 'SELECT ivmx.verify_immv(''emp_pk'') AS emp_pk, ivmx.verify_immv(''emp_expr'') AS emp_expr, ivmx.verify_immv(''emp_sales'') AS emp_sales, ivmx.verify_immv(''emp_const'') AS emp_const'
:verify;

-- The IMMVs are plain tables with the view's columns (bag views keep no
-- bookkeeping columns), and indexes where rows have a key.
SELECT attname, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute WHERE attrelid = 'emp_expr'::regclass AND attnum > 0 ORDER BY attnum;
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) AS definition
  FROM pg_index WHERE indrelid IN ('emp_pk'::regclass, 'emp_expr'::regclass, 'emp_sales'::regclass)
 ORDER BY 1;

SELECT id, name, salary FROM emp_pk ORDER BY id;
SELECT name, yearly, total, dept_uc FROM emp_expr ORDER BY name;
SELECT id, name, dept, salary, bonus FROM emp_sales ORDER BY id;
SELECT one, dept FROM emp_const ORDER BY dept;

-- INSERT: one row, several rows, INSERT ... SELECT, a row the filter rejects.
INSERT INTO emp VALUES (5, 'eve', 'dev', 2500, NULL);
:verify;
INSERT INTO emp VALUES (6, 'fay', 'sales', 2200, 10), (7, 'gus', 'ops', 1000, 0);
:verify;
INSERT INTO emp SELECT id + 10, name || '2', dept, salary + 1, bonus FROM emp WHERE id <= 3;
:verify;
INSERT INTO emp VALUES (20, 'hal', NULL, 9000, NULL);
:verify;
SELECT name, yearly, total, dept_uc FROM emp_expr ORDER BY name;

-- UPDATE of a non-key column, of the key, rows moving into and out of the filter.
UPDATE emp SET salary = salary + 100 WHERE dept = 'dev';
:verify;
UPDATE emp SET id = id + 100 WHERE id IN (11, 12);
:verify;
UPDATE emp SET dept = 'sales' WHERE name = 'eve';     -- into emp_sales
:verify;
UPDATE emp SET dept = NULL WHERE name = 'ann';        -- out of emp_sales and emp_expr
:verify;
UPDATE emp SET salary = 1999 WHERE name = 'fay';      -- out of emp_expr only
:verify;
UPDATE emp SET bonus = coalesce(bonus, 0) + 1;        -- every row
:verify;
UPDATE emp SET name = name WHERE false;               -- no row
:verify;
SELECT id, name, salary FROM emp_pk ORDER BY id;
SELECT name, yearly, total, dept_uc FROM emp_expr ORDER BY name;
SELECT id, name, dept, salary, bonus FROM emp_sales ORDER BY id;

-- DELETE: one row, rows by a predicate, nothing.
DELETE FROM emp WHERE id = 5;
:verify;
DELETE FROM emp WHERE dept = 'sales';
:verify;
DELETE FROM emp WHERE id < 0;
:verify;
SELECT id, name, salary FROM emp_pk ORDER BY id;
SELECT one, dept FROM emp_const ORDER BY dept;

-- Full rollback, and a savepoint rolled back in the middle of a transaction.
BEGIN;
INSERT INTO emp VALUES (30, 'ivy', 'dev', 3300, NULL);
:verify;
UPDATE emp SET salary = 1 WHERE dept = 'dev';
:verify;
ROLLBACK;
:verify;
BEGIN;
INSERT INTO emp VALUES (31, 'jon', 'dev', 3100, 1);
:verify;
SAVEPOINT s1;
DELETE FROM emp WHERE dept = 'dev';
:verify;
SELECT id, name, salary FROM emp_pk ORDER BY id;
ROLLBACK TO SAVEPOINT s1;
:verify;
UPDATE emp SET dept = 'sales' WHERE id = 31;
:verify;
COMMIT;
:verify;
SELECT id, name, salary FROM emp_pk ORDER BY id;
SELECT id, name, dept, salary, bonus FROM emp_sales ORDER BY id;

-- COPY FROM STDIN.
COPY emp (id, name, dept, salary, bonus) FROM STDIN;
40	kim	sales	2600	\N
41	lou	dev	2700	7
\.
:verify;
SELECT name, yearly, total, dept_uc FROM emp_expr ORDER BY name;

-- DELETE of every row, then TRUNCATE of a refilled table.
DELETE FROM emp;
:verify;
SELECT count(*) AS emp_pk_rows FROM emp_pk;
INSERT INTO emp VALUES (1, 'ann', 'sales', 3000, 100), (2, 'bob', 'dev', 2000, NULL);
:verify;
TRUNCATE emp;
:verify;
SELECT (SELECT count(*) FROM emp_pk) AS emp_pk, (SELECT count(*) FROM emp_expr) AS emp_expr,
       (SELECT count(*) FROM emp_sales) AS emp_sales, (SELECT count(*) FROM emp_const) AS emp_const;
INSERT INTO emp VALUES (1, 'ann', 'sales', 3000, 100);
:verify;
-- TRUNCATE rolled back.
BEGIN;
TRUNCATE emp;
:verify;
ROLLBACK;
:verify;
SELECT id, name, salary FROM emp_pk ORDER BY id;

-- explain_immv lists the statements run after each kind of change.
SELECT split_part(line, ' ', 3) AS after FROM ivmx.explain_immv('emp_pk') AS line WHERE line LIKE '-- after %';

DROP TABLE emp CASCADE;
SELECT count(*) AS immvs_left FROM ivmx.immv;
