// Deltas of views whose FROM clause is a join tree: outer joins and
// EXISTS / NOT EXISTS (semi- and anti-joins).
//
// Inner joins, filters and the preserved side of an outer join are linear:
// their delta follows from the deltas of their inputs. What is not linear is
// whether a row has a match on the other side (dangling rows of outer joins,
// EXISTS): for those the engine finds the rows whose match status the change
// can have flipped (the rows matching a changed row of the other side) and
// compares the status after the change with the status before it, which it
// derives from the current state and the delta by counting
// (count before = count now - signed count in the delta). Every term still
// reads relations in their current state only.
#pragma once

#include <string>
#include <vector>

#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// " FROM <tree> WHERE ..." reading every relation in its current state, the
// view's WHERE included (always with a WHERE clause, "true" if nothing else).
std::string JoinTreeFrom(const ViewDefinition& view);

// Adds to `delta` the view's delta for changes to the given occurrences: the
// WITH queries holding the deltas of the subtrees the changes reach
// (Delta::with_items), and two streams reading the root's delta, one for its
// positive and one for its negative rows (DeltaStream::from_sql). The WITH
// queries are named with_prefix followed by a number.
void AddJoinTreeDelta(const ViewDefinition& view, const std::vector<ChangedOccurrence>& changed, Delta& delta,
                      const std::string& with_prefix = "__ivm_d");

// Whether the tree has a leaf naming constant relation `constant`.
bool NamesConstant(const JoinTree& tree, size_t constant);

// Checks that a join tree is well formed over view.relations and
// view.constants (every occurrence exactly once, two children per join, one
// per filter).
// Throws Error (internal_error) otherwise.
void ValidateJoinTree(const ViewDefinition& view);

}  // namespace ivmx::core
