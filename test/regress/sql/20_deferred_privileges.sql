CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Deferred IMMVs and privileges. Writers of a base table need no privilege
-- on its deferred IMMVs nor on the delta log: their rows are logged as the
-- log's owner. They see nothing of the IMMVs in ivmx.immv_status (status
-- rows are the IMMV owner's), can neither read nor write the logs, their
-- directory ivmx.delta_log and the catalogs, nor switch modes or set
-- refresh intervals (owner only). ivmx.flush(immv) needs SELECT on the
-- IMMV and then applies the pending changes as the IMMV's owner, also the
-- caller's own uncommitted ones (read-your-writes for a writer who is not
-- the owner).
-- The scheduler is switched off for this file: only ivmx.flush applies.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_deferred_owner;
DROP ROLE IF EXISTS regress_ivmx_deferred_writer;
CREATE ROLE regress_ivmx_deferred_owner LOGIN;
CREATE ROLE regress_ivmx_deferred_writer LOGIN;
CREATE SCHEMA deferred_privileges AUTHORIZATION regress_ivmx_deferred_owner;
GRANT USAGE ON SCHEMA deferred_privileges TO regress_ivmx_deferred_writer;

-- The base table and the IMMVs belong to an ordinary role.
\c - regress_ivmx_deferred_owner
SET search_path = deferred_privileges;
CREATE TABLE orders (id int PRIMARY KEY, customer text, amount int);
INSERT INTO orders VALUES (1, 'ann', 10), (2, 'bob', 20);
GRANT SELECT, INSERT, UPDATE, DELETE ON orders TO regress_ivmx_deferred_writer;
SELECT ivmx.create_immv('per_customer',
    'SELECT customer, count(*) AS n, sum(amount) AS total FROM orders GROUP BY customer',
    mode => 'deferred');
SELECT ivmx.create_immv('big_orders', 'SELECT id, amount FROM orders WHERE amount >= 20',
                        mode => 'deferred');
-- The writer may read per_customer, not big_orders.
GRANT SELECT ON per_customer TO regress_ivmx_deferred_writer;

-- A fresh session of the writer: every kind of change is logged.
\c - regress_ivmx_deferred_writer
SET search_path = deferred_privileges;
INSERT INTO orders VALUES (3, 'ann', 30);
UPDATE orders SET amount = amount + 1 WHERE id = 1;
DELETE FROM orders WHERE id = 2;
-- The writer is not the IMMVs' owner: no status rows.
SELECT immv, pending_rows FROM ivmx.immv_status ORDER BY immv::text;
-- Neither the log (its name is predictable) nor the catalogs can be read
-- or written directly.
\set VERBOSITY terse
SELECT count(*) FROM ivmx.delta_log;
DO $$
DECLARE
    log text := format('ivmx.delta_%s', 'orders'::regclass::oid);
BEGIN
    BEGIN
        EXECUTE format('SELECT count(*) FROM %s', log);
        RAISE NOTICE 'log readable';
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'reading the log: insufficient_privilege';
    END;
    BEGIN
        EXECUTE format('DELETE FROM %s', log);
        RAISE NOTICE 'log writable';
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'deleting from the log: insufficient_privilege';
    END;
END $$;
UPDATE ivmx.immv SET watermark = NULL;
SELECT ivmx.set_mode('per_customer', 'immediate');
SELECT ivmx.set_refresh_interval('per_customer', '1 minute');
-- Flushing an IMMV the writer may not read is refused.
SELECT ivmx.flush('big_orders');
-- Flushing one it may read applies the pending changes.
SELECT ivmx.flush('per_customer');
SELECT ivmx.verify_immv('per_customer');
SELECT customer, n, total FROM per_customer ORDER BY customer;
-- Read-your-writes inside the writer's transaction.
BEGIN;
INSERT INTO orders VALUES (4, 'cid', 40);
SELECT ivmx.flush('per_customer');
SELECT customer, n, total FROM per_customer ORDER BY customer;
COMMIT;
\set VERBOSITY default

\c - :admin
SET search_path = deferred_privileges;
SELECT immv, pending_rows FROM ivmx.immv_status ORDER BY immv::text;
SELECT ivmx.verify_immv('per_customer') AS per_customer, ivmx.verify_immv('big_orders') AS big_orders;
SELECT ivmx.flush('per_customer') AS per_customer, ivmx.flush('big_orders') AS big_orders;
SELECT ivmx.verify_immv('per_customer') AS per_customer, ivmx.verify_immv('big_orders') AS big_orders;
SELECT customer, n, total FROM per_customer ORDER BY customer;
SELECT id, amount FROM big_orders ORDER BY id;

-- A new owner of a deferred IMMV: refreshes run as the new owner and must
-- still read the delta log.
ALTER TABLE big_orders OWNER TO regress_ivmx_deferred_writer;
INSERT INTO orders VALUES (5, 'dee', 50);
\set VERBOSITY terse
SELECT ivmx.flush('big_orders');
\set VERBOSITY default
SELECT ivmx.verify_immv('big_orders');
SELECT id, amount FROM big_orders ORDER BY id;

SET client_min_messages = warning;
DROP SCHEMA deferred_privileges CASCADE;
RESET client_min_messages;
RESET search_path;
DROP ROLE regress_ivmx_deferred_writer;
DROP ROLE regress_ivmx_deferred_owner;
SELECT count(*) AS orphan_immvs FROM ivmx.immv i
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = i.immvrelid);

ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
