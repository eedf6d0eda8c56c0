// Set operations (UNION / INTERSECT / EXCEPT, with or without ALL) of
// ungrouped leaves.
//
// Every set operation is a function of how often a row occurs in each leaf:
// UNION ALL outputs it a + b times, INTERSECT ALL least(a, b) times, EXCEPT
// ALL greatest(a - b, 0) times, and the forms without ALL output it once
// when their ALL form outputs it at all (a DISTINCT leaf counts once at
// most). So the view reads the leaves' rows, unioned and tagged with their
// leaf (the relation "__ivm_set"), and keeps, per distinct row, its count in
// every leaf: a grouped view whose groups are the rows, whose aggregates
// are count(*) FILTER (WHERE leaf = k), and whose HAVING says whether the
// set operation outputs the row; a row output several times (an ALL at the
// root) is as many rows of the IMMV. The delta of the leaves' union is the
// union of their deltas, each leaf's delta built as for a view of its own.
// Two forms need no counts: a UNION ALL of bags is a bag, a UNION (of
// anything) whose operations are all UNIONs is a DISTINCT view.
#pragma once

#include <string>
#include <vector>

#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// The operation tree of a set operation over leaves.
struct SetOperationTree {
    enum class Kind { Leaf, Union, Intersect, Except };
    Kind kind = Kind::Leaf;
    bool all = false;                        // UNION ALL, INTERSECT ALL, EXCEPT ALL
    size_t leaf = 0;                         // Kind::Leaf: index into the leaves
    std::vector<SetOperationTree> children;  // two, for the operations
};

// An output column of a set operation: its name, its type (every leaf's
// column is cast to it) and whether the type has a btree equality.
struct SetColumn {
    std::string name;
    std::string type_sql;
    bool has_equality = true;
};

// The alias of the leaves' union, and the column naming a row's leaf.
inline constexpr const char* kSetAlias = "__ivm_set";
inline constexpr const char* kLeafColumn = "__ivm_branch";

// The view of the set operation `tree` over `leaves` (ungrouped views, a bag
// or DISTINCT, whose visible columns match `columns` in number and order).
// Throws Error (feature_not_supported) for a leaf that is grouped or itself
// a set operation, and (internal_error) for a malformed tree.
ViewDefinition SetOperationView(const QualifiedName& immv, const std::vector<SetColumn>& columns,
                                std::vector<ViewDefinition> leaves, const SetOperationTree& tree);

// Whether the IMMV holds a row as often as the set operation outputs it
// (CopiesColumn() of its groups table), rather than once.
bool RepeatsRows(const ViewDefinition& view);

// " FROM (<leaf 1> UNION ALL ...) AS __ivm_set" with every relation
// occurrence of the view read from sources[i]; each leaf's rows projected to
// the set operation's columns (and, for a view that counts rows per leaf,
// tagged with the leaf's number).
std::string SetOperationFrom(const ViewDefinition& view, const std::vector<std::string>& sources);

// The delta of a set operation view for changes to the given occurrences:
// the union of its leaves' deltas.
Delta SetOperationDelta(const ViewDefinition& view, const std::vector<ChangedOccurrence>& changed);

}  // namespace ivmx::core
