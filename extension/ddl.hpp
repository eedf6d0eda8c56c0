// Catalog objects pg_ivmx attaches to tables: capture triggers on base
// relations, guard triggers on IMMVs, and pg_depend entries that keep base
// relations and their referenced columns from being dropped under an IMMV.
#pragma once

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Creates the statement-level capture triggers (INSERT, UPDATE, DELETE with
// transition tables, and TRUNCATE) on relid unless it has them already.
void EnsureCaptureTriggers(Oid relid);

// Drops relid's capture triggers.
void DropCaptureTriggers(Oid relid);

// Creates the trigger that rejects direct writes to an IMMV.
void CreateGuardTrigger(Oid immv);

// Records that immv depends on everything query references (relations,
// columns, functions, operators, types), like a view does.
void RecordViewDependencies(Oid immv, Query* query);

// Whether every trigger IMMV immv needs is in place and fires always (as
// created): the capture triggers on each relation it reads (and on the
// members of its line: extension/hierarchy.hpp) and its guard
// trigger. A trigger dropped (DROP TRIGGER), disabled or enabled for origin
// or replica sessions only (ALTER TABLE ... DISABLE / ENABLE [REPLICA]
// TRIGGER) leaves the IMMV silently stale or writable.
bool TriggersIntact(Oid immv);

// Emits a WARNING saying that immv's triggers are missing or disabled;
// WarnIfTriggersMissing does when TriggersIntact(immv) is false.
void WarnTriggersMissing(Oid immv);
void WarnIfTriggersMissing(Oid immv);

// Recreates the triggers IMMV immv needs that are missing or do not fire
// always (on the relations it reads: needs TRIGGER on them, as creating the
// IMMV did). The IMMV must then be recomputed: changes made while they were
// missing were not captured. Emits a NOTICE per repaired relation.
void RepairTriggers(Oid immv);

// Whether trigger `name` of relation relid is one of pg_ivmx's internal
// triggers (a capture or guard trigger).
bool IsMaintenanceTrigger(Oid relid, const char* name);

// Raises 0A000 if relid is a temporary table: an IMMV outlives the session
// (its catalog rows would outlive the table).
void RefuseTemporaryImmv(Oid relid);

// Tells every backend to rebuild its cached maintenance plans for relid.
void InvalidatePlans(Oid relid);

}  // namespace ivmx::pg
