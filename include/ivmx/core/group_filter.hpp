// Views with HAVING: the IMMV holds the groups that pass the condition, a
// companion table holds the state of every group. A group's aggregates are
// kept whether it passes or not (a group may cross the condition either
// way), so the delta is applied to the companion as to any grouped view,
// and the IMMV rows of the groups the delta touched are then brought in line
// with their state: deleted when the group no longer passes (or is gone),
// updated when it still does, inserted when it starts to.
#pragma once

#include <string>
#include <vector>

#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// Whether the IMMV is a filtered copy of its groups table (HAVING).
bool FiltersGroups(const ViewDefinition& view);

// The view whose IMMV is the groups table: the definition with immv set to
// view.groups_table (and no groups table of its own).
ViewDefinition GroupStateView(const ViewDefinition& view);

// The columns of the IMMV of a view with HAVING: the visible output columns,
// then the hidden group keys (which identify its rows).
std::vector<std::string> FilteredColumns(const ViewDefinition& view);

// SELECT of the IMMV's columns from the groups that pass, read from `groups`
// (a FROM-item with the groups table's columns).
std::string PassingGroups(const ViewDefinition& view, const std::string& groups);

// The statement that brings the IMMV rows of the groups `delta` touched in
// line with the groups table, once the delta is applied to it. Returns the
// number of IMMV rows it changed.
MaintenanceStep SyncPassingGroups(const ViewDefinition& view, const Delta& delta);

// The name of a companion table of IMMV `immv`: its name with `suffix`,
// shortened (on a character boundary) so that the whole fits in a
// PostgreSQL identifier (63 bytes).
QualifiedName CompanionName(const QualifiedName& immv, const std::string& suffix);

// Suffix of the groups table's name.
inline constexpr const char* kGroupsSuffix = "__ivm_groups";

}  // namespace ivmx::core
