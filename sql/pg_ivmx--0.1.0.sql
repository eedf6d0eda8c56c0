-- pg_ivmx 0.1.0: incrementally maintained materialized views.
\echo Use "CREATE EXTENSION pg_ivmx" to load this file. \quit

CREATE FUNCTION ivmx._check_preloaded() RETURNS void
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'ivmx_check_preloaded';
SELECT ivmx._check_preloaded();

-- One row per IMMV. querytree is the analysed defining query (nodeToString),
-- which keeps working across renames of the relations and columns it reads.
CREATE TABLE ivmx.immv (
    immvrelid regclass PRIMARY KEY,
    querytree text NOT NULL,
    mode text NOT NULL CHECK (mode IN ('immediate', 'deferred')),
    populated boolean NOT NULL
);

-- Edges from an IMMV to every relation it reads.
CREATE TABLE ivmx.immv_dependency (
    immvrelid regclass NOT NULL,
    relid regclass NOT NULL,
    PRIMARY KEY (immvrelid, relid)
);
CREATE INDEX immv_dependency_relid_idx ON ivmx.immv_dependency (relid);

REVOKE ALL ON ivmx.immv, ivmx.immv_dependency FROM PUBLIC;
GRANT SELECT ON ivmx.immv, ivmx.immv_dependency TO PUBLIC;

CREATE FUNCTION ivmx.create_immv(immv_name text, view_definition text, mode text DEFAULT NULL)
    RETURNS bigint LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'ivmx_create_immv';
COMMENT ON FUNCTION ivmx.create_immv(text, text, text) IS
    'create an incrementally maintainable materialized view; returns the number of rows';

CREATE FUNCTION ivmx.refresh_immv(immv_name text, with_data boolean DEFAULT true)
    RETURNS bigint LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'ivmx_refresh_immv';
COMMENT ON FUNCTION ivmx.refresh_immv(text, boolean) IS
    'recompute an IMMV from scratch (with_data => false empties it and suspends maintenance)';

CREATE FUNCTION ivmx.get_immv_def(immv regclass) RETURNS text
    LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'ivmx_get_immv_def';
COMMENT ON FUNCTION ivmx.get_immv_def(regclass) IS 'the defining query of an IMMV';

CREATE FUNCTION ivmx.verify_immv(immv regclass) RETURNS bigint
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'ivmx_verify_immv';
COMMENT ON FUNCTION ivmx.verify_immv(regclass) IS
    'number of rows by which an IMMV differs from its defining query now (0 = consistent)';

CREATE FUNCTION ivmx._explain_immv(immv regclass) RETURNS text[]
    LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'ivmx_explain_immv';
CREATE FUNCTION ivmx.explain_immv(immv regclass) RETURNS SETOF text
    LANGUAGE sql STABLE STRICT
    AS 'SELECT pg_catalog.unnest(ivmx._explain_immv(immv))';
COMMENT ON FUNCTION ivmx.explain_immv(regclass) IS
    'the statements that maintain an IMMV after each kind of change to its base tables';

-- Trigger functions attached (as internal triggers) to base tables and IMMVs.
CREATE FUNCTION ivmx.capture_trigger() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'ivmx_capture_trigger';
CREATE FUNCTION ivmx.guard_trigger() RETURNS trigger
    LANGUAGE C AS 'MODULE_PATHNAME', 'ivmx_guard_trigger';

-- Dropping an IMMV (or, with CASCADE, its base table) removes its catalog
-- rows and the capture triggers no other IMMV needs.
CREATE FUNCTION ivmx._forget_relations(dropped oid[]) RETURNS void
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'ivmx_forget_relations';
REVOKE ALL ON FUNCTION ivmx._forget_relations(oid[]) FROM PUBLIC;

CREATE FUNCTION ivmx.on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    dropped oid[];
BEGIN
    SELECT array_agg(objid) INTO dropped
      FROM pg_event_trigger_dropped_objects()
     WHERE classid = 'pg_catalog.pg_class'::regclass AND objsubid = 0;
    IF dropped IS NOT NULL AND to_regclass('ivmx.immv') IS NOT NULL THEN
        PERFORM ivmx._forget_relations(dropped);
    END IF;
END;
$$;
CREATE EVENT TRIGGER ivmx_sql_drop ON sql_drop EXECUTE FUNCTION ivmx.on_sql_drop();

-- A readable listing of IMMVs.
CREATE VIEW ivmx.immvs AS
SELECT i.immvrelid AS immv,
       n.nspname AS schemaname,
       c.relname AS immvname,
       i.mode,
       i.populated,
       ivmx.get_immv_def(i.immvrelid) AS definition
  FROM ivmx.immv i
  JOIN pg_catalog.pg_class c ON c.oid = i.immvrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace;
GRANT SELECT ON ivmx.immvs TO PUBLIC;
