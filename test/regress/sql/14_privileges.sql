CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Maintenance runs for whoever changes a base table: a role that may write
-- the base table but has no privilege on the IMMVs (nor on the ivmx schema)
-- changes it from a fresh session, and the IMMVs stay equal to their queries.
-- Privileges on an IMMV itself do not let anyone write it directly.
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_writer;
CREATE ROLE regress_ivmx_writer LOGIN;

CREATE TABLE stock (id int PRIMARY KEY, shelf int, qty int);
INSERT INTO stock VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON stock TO regress_ivmx_writer;
SELECT ivmx.create_immv('stock_by_shelf', 'SELECT shelf, count(*) AS n, sum(qty) AS total, max(qty) AS top FROM stock GROUP BY shelf');
SELECT ivmx.create_immv('stock_rows', 'SELECT shelf, qty FROM stock');
SELECT ivmx.create_immv('stock_all', 'SELECT count(*) AS n, min(qty) AS low FROM stock');
\set verify 'SELECT ivmx.verify_immv(''stock_by_shelf'') AS stock_by_shelf, ivmx.verify_immv(''stock_rows'') AS stock_rows, ivmx.verify_immv(''stock_all'') AS stock_all'
:verify;

-- A new session of the writer: every kind of change succeeds.
\c - regress_ivmx_writer
SELECT current_user;
INSERT INTO stock VALUES (4, 2, 40);
UPDATE stock SET qty = qty + 1 WHERE shelf = 1;
UPDATE stock SET shelf = 3 WHERE id = 3;
DELETE FROM stock WHERE id = 2;
-- Reading an IMMV needs a privilege on it, as for any table.
SELECT shelf, n FROM stock_by_shelf;
\c - :admin
:verify;
SELECT shelf, n, total, top FROM stock_by_shelf ORDER BY shelf;

\c - regress_ivmx_writer
TRUNCATE stock;
INSERT INTO stock VALUES (5, 5, 5);
\c - :admin
:verify;
SELECT shelf, n, total, top FROM stock_by_shelf ORDER BY shelf;
SELECT n, low FROM stock_all;

-- Privileges on the IMMV allow reading it, but writes are still rejected.
GRANT ALL ON stock_by_shelf, stock_rows TO regress_ivmx_writer;
\c - regress_ivmx_writer
SELECT shelf, n, total, top FROM stock_by_shelf ORDER BY shelf;
INSERT INTO stock_rows VALUES (9, 9);
DELETE FROM stock_by_shelf;
UPDATE stock SET qty = 6;
\c - :admin
:verify;
SELECT shelf, n, total, top FROM stock_by_shelf ORDER BY shelf;

DROP TABLE stock CASCADE;
DROP ROLE regress_ivmx_writer;
