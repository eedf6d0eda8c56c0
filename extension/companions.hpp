// Companion tables of IMMVs: tables the engine keeps beside an IMMV (the
// state of every group of a view with HAVING). They belong to the IMMV as
// its TOAST table does (an internal dependency: dropped with it, never
// alone), have its owner, and only maintenance writes them.
#pragma once

#include <vector>

#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// The companion tables of IMMV immv.
std::vector<Oid> CompanionTables(Oid immv);

// The IMMV that companion table `table` belongs to; InvalidOid for a table
// that is no companion.
Oid ImmvOfCompanion(Oid table);

// Points the companion names of `view` (the definition of IMMV immv) at the
// tables that belong to it: the names were derived from the IMMV's name,
// which may have changed since they were made.
void LocateCompanions(core::ViewDefinition& view, Oid immv);

// Creates and fills the companion tables of the new (or restored) IMMV immv
// made from `view`, as the current user, and records that they belong to
// it. A plain table holding a companion's name that a dump of the IMMV left
// (restore) is replaced, if the IMMV's owner owns it.
void CreateCompanions(const core::ViewDefinition& view, Oid immv, bool restore);

// Gives the companion tables of immv to its new owner (ALTER TABLE ... OWNER TO).
void FollowOwner(Oid immv);

}  // namespace ivmx::pg
