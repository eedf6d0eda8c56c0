-- pg_ivmx 0.1.0: incrementally maintained materialized views.
\echo Use "CREATE EXTENSION pg_ivmx" to load this file. \quit

CREATE FUNCTION ivmx._check_preloaded() RETURNS void
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'ivmx_check_preloaded';
SELECT ivmx._check_preloaded();

-- One row per IMMV. querytree is the analysed defining query (nodeToString),
-- which keeps working across renames of the relations and columns it reads.
-- populated_xid is the transaction that last recomputed the IMMV: writers
-- whose snapshot cannot see it must not maintain it (serialization failure).
-- For deferred IMMVs, watermark is the set of writer transactions whose
-- logged changes the IMMV reflects; a flush inside a writing transaction
-- also applied that transaction's rows up to partial_seq (partial_xid). The
-- remaining columns are the scheduler's bookkeeping, written once per
-- refresh, never per write.
CREATE TABLE ivmx.immv (
    immvrelid regclass PRIMARY KEY,
    querytree text NOT NULL,
    mode text NOT NULL CHECK (mode IN ('immediate', 'deferred')),
    populated boolean NOT NULL,
    populated_xid xid8,
    refresh_interval interval,
    watermark pg_snapshot,
    partial_xid xid8,
    partial_seq bigint,
    last_refresh timestamptz,
    last_duration interval,
    refresh_count bigint NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0,
    last_error text,
    next_attempt timestamptz
);

-- Edges from an IMMV to every relation it reads.
CREATE TABLE ivmx.immv_dependency (
    immvrelid regclass NOT NULL,
    relid regclass NOT NULL,
    PRIMARY KEY (immvrelid, relid)
);
CREATE INDEX immv_dependency_relid_idx ON ivmx.immv_dependency (relid);

-- One row per refresh of a deferred IMMV (and per flush), newest kept.
CREATE TABLE ivmx.refresh_history (
    id bigserial PRIMARY KEY,
    immvrelid regclass NOT NULL,
    started_at timestamptz NOT NULL,
    duration interval NOT NULL,
    rows_consumed bigint NOT NULL,
    rows_changed bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('incremental', 'full')),
    error text
);
CREATE INDEX refresh_history_immv_idx ON ivmx.refresh_history (immvrelid, id);

-- One delta log per base table read by deferred IMMVs (ivmx.delta_<oid>),
-- written by every writer of the table. Rows are numbered from one sequence
-- so that a transaction's rows are ordered across logs; it is cached per
-- backend (numbers increase within a backend, hence within a transaction),
-- so that writers draw their numbers without contending for it.
CREATE SEQUENCE ivmx.delta_seq CACHE 1000;
CREATE TABLE ivmx.delta_log (
    relid regclass PRIMARY KEY,
    logrelid regclass NOT NULL
);

-- Every writer of a base table reads the catalog (to find its IMMVs).
GRANT USAGE ON SCHEMA ivmx TO PUBLIC;
REVOKE ALL ON ivmx.immv, ivmx.immv_dependency, ivmx.refresh_history, ivmx.delta_log FROM PUBLIC;
GRANT SELECT ON ivmx.immv, ivmx.immv_dependency, ivmx.refresh_history, ivmx.delta_log TO PUBLIC;

CREATE FUNCTION ivmx.create_immv(immv_name text, view_definition text, mode text DEFAULT NULL,
                                 refresh_interval interval DEFAULT NULL)
    RETURNS bigint LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'ivmx_create_immv';
COMMENT ON FUNCTION ivmx.create_immv(text, text, text, interval) IS
    'create an incrementally maintainable materialized view; returns the number of rows';

CREATE FUNCTION ivmx.set_mode(immv regclass, mode text) RETURNS void
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'ivmx_set_mode';
COMMENT ON FUNCTION ivmx.set_mode(regclass, text) IS
    'switch an IMMV between immediate and deferred maintenance without losing a change';

CREATE FUNCTION ivmx.set_refresh_interval(immv regclass, refresh_interval interval) RETURNS void
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'ivmx_set_refresh_interval';
COMMENT ON FUNCTION ivmx.set_refresh_interval(regclass, interval) IS
    'refresh a deferred IMMV no more often than this (NULL: whenever changes are pending)';

CREATE FUNCTION ivmx.flush(immv regclass) RETURNS bigint
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'ivmx_flush';
COMMENT ON FUNCTION ivmx.flush(regclass) IS
    'apply the pending changes of a deferred IMMV now; returns the log rows consumed';
CREATE FUNCTION ivmx.flush() RETURNS bigint
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'ivmx_flush_all';
COMMENT ON FUNCTION ivmx.flush() IS
    'apply the pending changes of every deferred IMMV of the database now';

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

-- pg_ivm-compatible dump and restore: pg_dump saves IMMV tables as plain
-- tables with their rows; after restoring, run the commands that
-- get_restore_immv_commands() printed before the dump.
CREATE FUNCTION ivmx.restore_immv(immv_name text, view_definition text, populate boolean DEFAULT false)
    RETURNS void LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'ivmx_restore_immv';
COMMENT ON FUNCTION ivmx.restore_immv(text, text, boolean) IS
    'make a table restored by pg_dump an IMMV again (populate => true recomputes it)';
CREATE FUNCTION ivmx._immv_commands(restore boolean) RETURNS text[]
    LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'ivmx_immv_commands';
CREATE FUNCTION ivmx.get_create_immv_commands() RETURNS SETOF text
    LANGUAGE sql STABLE AS 'SELECT pg_catalog.unnest(ivmx._immv_commands(false))';
COMMENT ON FUNCTION ivmx.get_create_immv_commands() IS
    'create_immv commands recreating every IMMV of the database, inputs first';
CREATE FUNCTION ivmx.get_restore_immv_commands() RETURNS SETOF text
    LANGUAGE sql STABLE AS 'SELECT pg_catalog.unnest(ivmx._immv_commands(true))';
COMMENT ON FUNCTION ivmx.get_restore_immv_commands() IS
    'restore_immv commands re-registering every IMMV after pg_dump/pg_restore, inputs first';

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

-- Pending changes of a deferred IMMV: log rows not reflected yet, and when
-- the oldest of them was written.
CREATE FUNCTION ivmx.pending_changes(immv regclass, OUT rows bigint, OUT oldest timestamptz)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    log regclass;
    mark pg_snapshot;
    pxid xid8;
    pseq bigint;
    n bigint;
    t timestamptz;
BEGIN
    rows := 0;
    SELECT i.watermark INTO mark FROM ivmx.immv i WHERE i.immvrelid = immv AND i.mode = 'deferred';
    IF mark IS NULL THEN RETURN; END IF;
    SELECT i.partial_xid, i.partial_seq INTO pxid, pseq FROM ivmx.immv i WHERE i.immvrelid = immv;
    FOR log IN SELECT l.logrelid FROM ivmx.immv_dependency d JOIN ivmx.delta_log l ON l.relid = d.relid
                WHERE d.immvrelid = immv LOOP
        EXECUTE format('SELECT count(*), min(__ivm_time) FROM %s WHERE NOT pg_visible_in_snapshot(__ivm_xid, $1)'
                       ' OR (__ivm_xid = $2 AND __ivm_seq > $3)', log)
            INTO n, t USING mark, pxid, pseq;
        rows := rows + n;
        IF t IS NOT NULL AND (oldest IS NULL OR t < oldest) THEN oldest := t; END IF;
    END LOOP;
END;
$$;

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

-- Edges of the IMMV dependency graph: every relation an IMMV reads.
CREATE VIEW ivmx.immv_dependencies AS
SELECT d.immvrelid AS immv,
       d.relid AS reads,
       (u.immvrelid IS NOT NULL) AS reads_immv
  FROM ivmx.immv_dependency d
  LEFT JOIN ivmx.immv u ON u.immvrelid = d.relid;
GRANT SELECT ON ivmx.immv_dependencies TO PUBLIC;

-- Maintenance state of every IMMV. depth is 1 for an IMMV over base tables
-- only, else 1 + the depth of its deepest upstream IMMV; upstream lists the
-- IMMVs it reads directly. state is upstream_failed while an IMMV it reads,
-- directly or not, is failing. pending_rows counts the IMMV's own pending
-- log rows; lag is the age of the oldest change not yet reflected in it,
-- its upstream IMMVs' pending changes included. The logs are read (by
-- ivmx.pending_changes) only for the rows asked for and their upstream
-- IMMVs: a query for one IMMV does not scan the logs of all of them.
CREATE VIEW ivmx.immv_status AS
WITH RECURSIVE upstream(immv, up, levels) AS (
    SELECT d.immvrelid, d.relid, 1
      FROM ivmx.immv_dependency d JOIN ivmx.immv u ON u.immvrelid = d.relid
    UNION
    SELECT s.immv, d.relid, s.levels + 1
      FROM upstream s
      JOIN ivmx.immv_dependency d ON d.immvrelid = s.up
      JOIN ivmx.immv u ON u.immvrelid = d.relid
)
SELECT i.immvrelid AS immv,
       i.mode,
       CASE WHEN NOT i.populated THEN 'suspended'
            WHEN i.failures > 0 THEN 'failing'
            WHEN EXISTS (SELECT 1 FROM upstream s JOIN ivmx.immv u ON u.immvrelid = s.up
                          WHERE s.immv = i.immvrelid AND u.failures > 0) THEN 'upstream_failed'
            ELSE 'ok' END AS state,
       o.rows AS pending_rows,
       CASE WHEN oldest.t IS NOT NULL THEN pg_catalog.clock_timestamp() - oldest.t
            WHEN i.mode = 'deferred' THEN interval '0' END AS lag,
       1 + COALESCE((SELECT max(s.levels) FROM upstream s WHERE s.immv = i.immvrelid), 0) AS depth,
       ARRAY(SELECT s.up FROM upstream s WHERE s.immv = i.immvrelid AND s.levels = 1 ORDER BY 1)
           AS upstream,
       i.refresh_interval,
       i.last_refresh,
       i.last_duration,
       i.refresh_count,
       i.failures AS consecutive_failures,
       i.last_error,
       i.next_attempt
  FROM ivmx.immv i
  CROSS JOIN LATERAL ivmx.pending_changes(i.immvrelid) o
  CROSS JOIN LATERAL (
      SELECT min(x.oldest) AS t
        FROM (SELECT o.oldest
              UNION ALL
              SELECT u.oldest
                FROM (SELECT DISTINCT s.up FROM upstream s WHERE s.immv = i.immvrelid) s
                CROSS JOIN LATERAL ivmx.pending_changes(s.up) u) AS x
  ) AS oldest;
GRANT SELECT ON ivmx.immv_status TO PUBLIC;
