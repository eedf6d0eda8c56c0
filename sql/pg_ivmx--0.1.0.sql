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
-- refresh, never per write; slow_refreshes counts the scheduled refreshes
-- that took ivmx.refresh_warn_time or longer (lock waits included), the last
-- of which started at last_slow_refresh and took last_slow_duration.
-- extension/catalog.cpp forms rows of this table column by column (its
-- immv_col constants, checked against this definition): a new column goes
-- at the end, and there too.
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
    next_attempt timestamptz,
    slow_refreshes bigint NOT NULL DEFAULT 0,
    last_slow_refresh timestamptz,
    last_slow_duration interval
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

-- Snapshots the schedulers took at their rounds (and while switched off,
-- when a commit woke them): a scheduled refresh of a backlog larger than
-- ivmx.max_batch_rows ends its batch at one of them, so that batches follow
-- commit order. Kept for a while, a few hundred at most.
CREATE TABLE ivmx.snapshot_mark (
    taken_at timestamptz NOT NULL,
    snapshot pg_snapshot NOT NULL
);
CREATE INDEX snapshot_mark_taken_idx ON ivmx.snapshot_mark (taken_at);
REVOKE ALL ON ivmx.snapshot_mark FROM PUBLIC;

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

-- Who sees what. pg_ivmx itself reads and writes its tables as their owner
-- (the extension's owner), whoever's session it runs in: a writer finding
-- the IMMVs of its table, a flush of another role's IMMV. Roles see, through
-- row-level security, the catalog rows of the IMMVs whose owner's privileges
-- they have (pg_has_role(owner, 'USAGE'): the owner and the members that
-- inherit its rights); members of pg_monitor see all of them, and so do
-- superusers and the extension's owner, who bypass row-level security.
-- Error texts of failed refreshes (which may quote the IMMV's data) and
-- refresh history are rows like any other. The delta logs and their
-- directory ivmx.delta_log are read by the extension's owner only; what is
-- pending shows through ivmx.pending_changes and ivmx.immv_status, for the
-- IMMVs the caller may see. The checks of the C functions serving the views
-- follow the same rule (MayMonitorImmv in extension/catalog.cpp).
GRANT USAGE ON SCHEMA ivmx TO PUBLIC;
REVOKE ALL ON ivmx.immv, ivmx.immv_dependency, ivmx.refresh_history, ivmx.delta_log FROM PUBLIC;
GRANT SELECT ON ivmx.immv, ivmx.immv_dependency, ivmx.refresh_history TO PUBLIC;
ALTER TABLE ivmx.immv ENABLE ROW LEVEL SECURITY;
ALTER TABLE ivmx.immv_dependency ENABLE ROW LEVEL SECURITY;
ALTER TABLE ivmx.refresh_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY immv_monitors ON ivmx.immv FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = immvrelid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_monitor', 'USAGE'));
CREATE POLICY immv_dependency_monitors ON ivmx.immv_dependency FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = immvrelid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_monitor', 'USAGE'));
CREATE POLICY refresh_history_monitors ON ivmx.refresh_history FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = immvrelid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_monitor', 'USAGE'));

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
-- the oldest of them was written. For an IMMV the caller may not see (see
-- above), an immediate IMMV or a relation that is no IMMV: 0 rows, oldest
-- NULL (no error, so that it tells nothing about other roles' IMMVs).
CREATE FUNCTION ivmx.pending_changes(immv regclass, OUT rows bigint, OUT oldest timestamptz)
    LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'ivmx_pending_changes';
COMMENT ON FUNCTION ivmx.pending_changes(regclass) IS
    'log rows a deferred IMMV has not applied yet, and when the oldest was written';

-- What ivmx.immv_status shows of an IMMV beyond its catalog row: the
-- longest chain of IMMVs it reads (depth, 1 over base tables only), the
-- IMMVs it reads directly, whether one of the IMMVs upstream of it is
-- failing, the oldest change pending in those, and whether the triggers
-- that maintain it are all in place. Upstream IMMVs count whoever owns them
-- (they make the caller's IMMV what it is). NULL for an IMMV the caller may
-- not see.
CREATE FUNCTION ivmx._immv_state(immv regclass, OUT depth integer, OUT upstream regclass[],
                                 OUT upstream_failed boolean, OUT upstream_oldest timestamptz,
                                 OUT triggers_intact boolean)
    LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'ivmx_immv_state';

-- Whether a relation is an IMMV (public knowledge: every IMMV has pg_ivmx's
-- guard trigger, which pg_trigger shows to all).
CREATE FUNCTION ivmx._is_immv(rel regclass) RETURNS boolean
    LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'ivmx_is_immv';

-- The views below are security_invoker: they show each caller the rows of
-- the catalog tables it may see, i.e. the IMMVs it may monitor.

-- A readable listing of IMMVs.
CREATE VIEW ivmx.immvs WITH (security_invoker = true) AS
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
CREATE VIEW ivmx.immv_dependencies WITH (security_invoker = true) AS
SELECT d.immvrelid AS immv,
       d.relid AS reads,
       ivmx._is_immv(d.relid) AS reads_immv
  FROM ivmx.immv_dependency d;
GRANT SELECT ON ivmx.immv_dependencies TO PUBLIC;

-- Maintenance state of every IMMV the caller may see. state is broken while
-- a trigger maintaining it is missing or disabled (ivmx.refresh_immv
-- recreates them), suspended while it is not populated, failing while its
-- refreshes fail, upstream_failed while an IMMV it reads, directly or not,
-- is failing. pending_rows counts the IMMV's own pending log rows; lag is
-- the age of the oldest change not yet reflected in it, its upstream IMMVs'
-- pending changes included. The logs are read only for the rows asked for
-- and their upstream IMMVs: a query for one IMMV does not scan the logs of
-- all of them. slow_refreshes counts the scheduled refreshes that took
-- ivmx.refresh_warn_time or longer (see ivmx.immv).
CREATE VIEW ivmx.immv_status WITH (security_invoker = true) AS
SELECT i.immvrelid AS immv,
       i.mode,
       CASE WHEN NOT s.triggers_intact THEN 'broken'
            WHEN NOT i.populated THEN 'suspended'
            WHEN i.failures > 0 THEN 'failing'
            WHEN s.upstream_failed THEN 'upstream_failed'
            ELSE 'ok' END AS state,
       o.rows AS pending_rows,
       CASE WHEN LEAST(o.oldest, s.upstream_oldest) IS NOT NULL
                THEN pg_catalog.clock_timestamp() - LEAST(o.oldest, s.upstream_oldest)
            WHEN i.mode = 'deferred' THEN interval '0' END AS lag,
       s.depth,
       s.upstream,
       i.refresh_interval,
       i.last_refresh,
       i.last_duration,
       i.refresh_count,
       i.failures AS consecutive_failures,
       i.last_error,
       i.next_attempt,
       i.slow_refreshes,
       i.last_slow_refresh,
       i.last_slow_duration
  FROM ivmx.immv i
  CROSS JOIN LATERAL ivmx.pending_changes(i.immvrelid) o
  CROSS JOIN LATERAL ivmx._immv_state(i.immvrelid) s;
GRANT SELECT ON ivmx.immv_status TO PUBLIC;
