// Catalog objects pg_ivmx attaches to tables: capture triggers on base
// relations, guard triggers on IMMVs, and pg_depend entries that keep base
// relations and their referenced columns from being dropped under an IMMV.
#pragma once

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Creates the statement-level capture triggers (INSERT, UPDATE, DELETE with
// transition tables, and TRUNCATE) on relid unless it has them already.
void EnsureCaptureTriggers(Oid relid);

// Drops relid's capture triggers if no IMMV reads it any more.
void DropCaptureTriggersIfUnused(Oid relid);

// Creates the trigger that rejects direct writes to an IMMV.
void CreateGuardTrigger(Oid immv);

// Records that immv depends on everything query references (relations,
// columns, functions, operators, types), like a view does.
void RecordViewDependencies(Oid immv, Query* query);

// Tells every backend to rebuild its cached maintenance plans for relid.
void InvalidatePlans(Oid relid);

}  // namespace ivmx::pg
