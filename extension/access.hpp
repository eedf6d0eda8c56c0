// Who may do what with an IMMV, and what its owner may see: the checks that
// keep pg_ivmx inside PostgreSQL's privilege model.
//
//  * Attaching maintenance to a relation runs code in its writers'
//    transactions, like a trigger: creating an IMMV over a relation needs
//    the TRIGGER privilege on it (owners have it), besides SELECT.
//  * Functions acting on an existing IMMV check ownership before they lock
//    it (the RangeVarGetRelidExtended callback pattern).
//  * Rows a statement changed (transition tables) and logged rows reach an
//    IMMV through its owner's row-level security policies, and only while
//    the owner may read every column the view reads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Raises 42501 unless the current user may attach an IMMV's maintenance to
// relid: the TRIGGER privilege on it (SELECT is checked as for any query
// when the defining query runs). Takes no lock: called before the base
// relations are locked.
void CheckMayMaintainFrom(Oid relid);

// Raises 42501 unless the current user may create a relation in namespace
// nsp; raises 0A000 for a temporary namespace (an IMMV outlives sessions).
void CheckMayCreateIn(Oid nsp, const std::string& name);

// Resolves a possibly qualified relation name, checking that the current
// user owns the relation before locking it in `lock` mode.
Oid LockOwnedRelation(const std::string& name, LOCKMODE lock);

// Raises 42501 (must be owner) unless the current user owns relid.
void RequireRelationOwner(Oid relid);

// The condition (SQL over relid's columns, unqualified) a row of relid must
// satisfy to be visible to the current user under relid's row-level
// security policies for SELECT, evaluated when the statement runs (so that
// it follows changes of the user's role memberships and of RLS being
// enabled or forced); nullopt when relid has row-level security off.
struct RowFilter {
    std::string condition;
    std::vector<std::string> columns;  // columns of relid the condition reads
};
std::optional<RowFilter> RelationRowFilter(Oid relid);

// FROM-item with the rows of `source` (rows of relid, all its columns or at
// least filter.columns) that pass the filter.
std::string FilteredSource(const std::string& source, Oid relid, const RowFilter& filter);

// `source` (rows of relid, or empty for none) as the IMMV owner's query may
// see it: through relid's row filter, if it has one.
std::string VisibleRows(const std::string& source, Oid relid);

// The first relation of the view one of whose read columns `role` may not
// SELECT now, if any.
std::optional<Oid> UnreadableRelation(const core::ViewDefinition& view, Oid role);

// Marks an IMMV not populated (state suspended) from a writer's
// transaction; concurrent writers doing the same take turns.
void SuspendImmv(Oid immv);

// Raises 42501: the owner of immv may not read relid any more.
void RaiseOwnerCannotRead(Oid immv, Oid relid);

}  // namespace ivmx::pg
