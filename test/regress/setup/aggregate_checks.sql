-- Shared setup of the aggregate tests (21_... to 27_...), read with \i after
-- `\set schema NAME`. It turns the scheduler off (only ivmx.flush applies
-- deferred changes), creates schema NAME and puts it first on the search
-- path, and defines there
--   text_diff(immv)  the rows of the IMMV (visible columns) and of its query
--                    that the other lacks, compared as text (EXCEPT ALL both
--                    ways), so that 1.00 and 1 differ;
--   immvs            the IMMVs of schema NAME;
-- and the psql variables
--   :check           verify_immv and text_diff of every IMMV of the schema;
--   :flush           ivmx.flush of every deferred IMMV of the schema.
ALTER SYSTEM SET ivmx.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
CREATE SCHEMA :"schema";
SET search_path = :"schema", public;
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
 WHERE c.relnamespace = :'schema'::regnamespace;
\set check 'SELECT immv, ivmx.verify_immv(immv) AS verify, text_diff(immv) AS text_diff FROM immvs ORDER BY immv::text'
\set flush 'SELECT count(ivmx.flush(immv)) AS flushed FROM immvs JOIN ivmx.immv_status s USING (immv) WHERE s.mode = ''deferred'''
