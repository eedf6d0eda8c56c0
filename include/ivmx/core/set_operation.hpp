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
// or DISTINCT, whose visible columns match `columns` in number and order;
// a leaf may read a UNION ALL in FROM). Throws Error (feature_not_supported)
// for a leaf that is grouped, and (internal_error) for a malformed tree.
ViewDefinition SetOperationView(const QualifiedName& immv, const std::vector<SetColumn>& columns,
                                std::vector<ViewDefinition> leaves, const SetOperationTree& tree);

// Makes `view` (whose expressions read the set operation's columns as
// __ivm_set.__ivm_col_<n>, n from 1, and whose where_sql applies to them) a
// view over the UNION ALL of `leaves`, bags whose visible columns match
// `columns`: SELECT ... FROM (<leaf> UNION ALL ...) AS __ivm_set WHERE ...
// Throws Error (feature_not_supported) for a leaf that is not a bag.
void ReadUnionAll(ViewDefinition& view, const std::vector<SetColumn>& columns, std::vector<ViewDefinition> leaves);

// The name of the set operation's column i (from 0) in the leaves' union.
std::string UnionColumn(size_t i);

// Whether the IMMV holds a row as often as the set operation outputs it
// (CopiesColumn() of its groups table), rather than once.
bool RepeatsRows(const ViewDefinition& view);

// " FROM (<leaf 1> UNION ALL ...) AS __ivm_set[, <constant relations>]
// [WHERE <where_sql>]" with
// every relation occurrence of the view read from sources[i]; each leaf's
// rows projected to the set operation's columns (cast to their types) and
// tagged with the leaf's number (kLeafColumn).
std::string SetOperationFrom(const ViewDefinition& view, const std::vector<std::string>& sources);

// The delta of a set operation view for changes to the given occurrences:
// the union of its leaves' deltas, whose WITH queries are named after
// with_prefix and their leaf's number.
Delta SetOperationDelta(const ViewDefinition& view, const std::vector<ChangedOccurrence>& changed,
                        const std::string& with_prefix);

}  // namespace ivmx::core
