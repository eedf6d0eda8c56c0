CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- Column privileges, revocation, and who may attach maintenance to a table.
--  * An IMMV never holds a value its owner may not read from the base table
--    at that moment: columns the owner has no privilege on cannot be read
--    through the delta log either, and after a REVOKE the IMMV is no longer
--    fed (immediate: suspended with a WARNING, the writer's statement goes
--    on; deferred: the refresh fails with 42501, like REFRESH MATERIALIZED
--    VIEW), until its owner refreshes it after a new GRANT.
--  * Creating an IMMV over a table needs the TRIGGER privilege on it: a
--    role with SELECT only cannot make the table owner's writes fail, wait
--    or run out of memory.
-- The scheduler is off: deferred IMMVs are brought forward with flush.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT current_user AS admin \gset
DROP ROLE IF EXISTS regress_ivmx_boss;
DROP ROLE IF EXISTS regress_ivmx_clerk;
DROP ROLE IF EXISTS regress_ivmx_reader;
CREATE ROLE regress_ivmx_boss LOGIN;
CREATE ROLE regress_ivmx_clerk LOGIN;
CREATE ROLE regress_ivmx_reader LOGIN;
CREATE SCHEMA hr AUTHORIZATION regress_ivmx_boss;
CREATE SCHEMA clerk AUTHORIZATION regress_ivmx_clerk;
CREATE SCHEMA reader AUTHORIZATION regress_ivmx_reader;
GRANT USAGE ON SCHEMA hr TO regress_ivmx_clerk, regress_ivmx_reader;
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname LIKE ''rej%'') AS relations, (SELECT count(*) FROM pg_trigger WHERE tgfoid = ''ivmx.capture_trigger''::regproc) AS capture_triggers'

\c - regress_ivmx_boss
CREATE TABLE hr.staff (id int PRIMARY KEY, name text, dept int, salary int);
INSERT INTO hr.staff VALUES (1, 'ann', 1, 1000), (2, 'bob', 1, 2000), (3, 'cid', 2, 3000);
-- The clerk may read names and departments, not salaries, and may attach
-- maintenance; the reader may only read.
GRANT SELECT (id, name, dept), TRIGGER ON hr.staff TO regress_ivmx_clerk;
GRANT SELECT ON hr.staff TO regress_ivmx_reader;
-- The boss's own deferred IMMV reads salaries: the table's log records them.
SELECT ivmx.create_immv('hr.payroll', 'SELECT dept, sum(salary) AS total FROM hr.staff GROUP BY dept', mode => 'deferred');

-- 1. The clerk cannot materialize salaries, and cannot read them from the
-- log that records them for the boss's IMMV.
\c - regress_ivmx_clerk
\set VERBOSITY terse
SELECT ivmx.create_immv('clerk.rej_pay', 'SELECT id, salary FROM hr.staff');
\set VERBOSITY default
:rejected;
SELECT ivmx.create_immv('clerk.people', 'SELECT id, name FROM hr.staff', mode => 'deferred');
SELECT ivmx.create_immv('clerk.per_dept', 'SELECT dept, count(*) AS n FROM hr.staff GROUP BY dept');
SELECT has_table_privilege('ivmx.delta_' || 'hr.staff'::regclass::oid, 'SELECT') AS log_readable,
       has_any_column_privilege('ivmx.delta_' || 'hr.staff'::regclass::oid, 'SELECT') AS any_column_readable;
\set VERBOSITY terse
DO $$
BEGIN
    EXECUTE format('SELECT sum(salary) FROM ivmx.%I', 'delta_' || 'hr.staff'::regclass::oid);
    RAISE NOTICE 'the log is readable';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'reading the log: insufficient_privilege';
END $$;
\set VERBOSITY default

\c - regress_ivmx_boss
INSERT INTO hr.staff VALUES (4, 'dee', 2, 4000);
UPDATE hr.staff SET salary = salary + 1, name = upper(name) WHERE id <= 2;
\c - regress_ivmx_clerk
SELECT ivmx.flush('clerk.people') > 0 AS flushed;
SELECT ivmx.verify_immv('clerk.people') AS people, ivmx.verify_immv('clerk.per_dept') AS per_dept;
SELECT id, name FROM clerk.people ORDER BY id;
\c - :admin
SELECT ivmx.flush('hr.payroll') > 0 AS flushed, ivmx.verify_immv('hr.payroll') AS payroll;
-- No role was ever granted anything on the log.
SELECT count(*) AS grants_on_logs FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'ivmx'::regnamespace AND c.relname ~ '^delta_[0-9]+$'
   AND a.grantee <> c.relowner;

-- 2. The boss revokes the clerk's privilege on a column the IMMVs read.
-- The boss's writes go on; the clerk's immediate IMMV stops being fed
-- (suspended, with a WARNING), its deferred IMMV fails to refresh (42501).
\c - regress_ivmx_boss
REVOKE SELECT (name, dept) ON hr.staff FROM regress_ivmx_clerk;
INSERT INTO hr.staff VALUES (5, 'eve', 1, 5000);
UPDATE hr.staff SET dept = 3 WHERE id = 1;
SELECT count(*) AS staff FROM hr.staff;
\c - regress_ivmx_clerk
SELECT dept, n FROM clerk.per_dept ORDER BY dept;
SELECT c.relname, i.populated FROM ivmx.immv i JOIN pg_class c ON c.oid = i.immvrelid
 WHERE c.relname IN ('people', 'per_dept') ORDER BY 1;
\set VERBOSITY terse
SELECT ivmx.flush('clerk.people');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT ivmx.refresh_immv('clerk.per_dept');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
\set VERBOSITY default
SELECT id, name FROM clerk.people ORDER BY id;

-- 3. The privilege comes back: the owner refreshes, maintenance resumes.
\c - regress_ivmx_boss
GRANT SELECT (name, dept) ON hr.staff TO regress_ivmx_clerk;
\c - regress_ivmx_clerk
SELECT ivmx.refresh_immv('clerk.per_dept');
SELECT ivmx.flush('clerk.people') > 0 AS flushed;
\c - regress_ivmx_boss
DELETE FROM hr.staff WHERE id = 2;
\c - regress_ivmx_clerk
SELECT ivmx.flush('clerk.people') > 0 AS flushed;
SELECT ivmx.verify_immv('clerk.people') AS people, ivmx.verify_immv('clerk.per_dept') AS per_dept;
SELECT dept, n FROM clerk.per_dept ORDER BY dept;
-- The clerk's IMMVs live in a schema the boss has no USAGE on: the boss's
-- writes maintain them all the same (maintenance runs as their owner).
\c - regress_ivmx_boss
SELECT has_schema_privilege('clerk', 'USAGE') AS boss_uses_clerk_schema;
UPDATE hr.staff SET dept = 1 WHERE id = 3;
\c - regress_ivmx_clerk
SELECT ivmx.verify_immv('clerk.per_dept') AS per_dept;

-- 4. A role with SELECT only cannot attach maintenance to the table:
-- neither an IMMV whose expression fails for some value (which would make
-- the owner's writes fail), nor a self-join whose delta would exhaust the
-- writer's memory. Nothing is left behind.
\c - regress_ivmx_reader
\set VERBOSITY terse
SELECT ivmx.create_immv('reader.rej_trap', 'SELECT id, 100 / (salary - 9999) AS x FROM hr.staff');
\set VERBOSITY default
:rejected;
SELECT ivmx.create_immv('reader.rej_trap', 'SELECT id, 100 / (salary - 9999) AS x FROM hr.staff');
\c - regress_ivmx_boss
INSERT INTO hr.staff VALUES (6, 'fay', 1, 9999);
DELETE FROM hr.staff WHERE id = 6;

-- 5. Even a table's owner cannot create an IMMV whose delta grows
-- exponentially: one relation at most 4 times (54000, with a hint).
\set VERBOSITY terse
SELECT ivmx.create_immv('hr.rej_join',
    'SELECT a.id FROM hr.staff a JOIN hr.staff b ON b.id = a.id JOIN hr.staff c ON c.id = a.id
       JOIN hr.staff d ON d.id = a.id JOIN hr.staff e ON e.id = a.id');
\set VERBOSITY default
:rejected;
SELECT ivmx.create_immv('hr.self4',
    'SELECT a.id, d.name FROM hr.staff a JOIN hr.staff b ON b.id = a.id JOIN hr.staff c ON c.id = a.id
       JOIN hr.staff d ON d.id = a.id');
UPDATE hr.staff SET name = name || '!' WHERE id = 3;
SELECT ivmx.verify_immv('hr.self4');

\c - :admin
SET client_min_messages = warning;
DROP SCHEMA hr CASCADE;
DROP SCHEMA clerk CASCADE;
DROP SCHEMA reader CASCADE;
RESET client_min_messages;
DROP ROLE regress_ivmx_boss;
DROP ROLE regress_ivmx_clerk;
DROP ROLE regress_ivmx_reader;
ALTER SYSTEM RESET ivmx.enabled;
SELECT pg_reload_conf();
