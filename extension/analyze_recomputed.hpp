// Views maintained by computing part of their rows again rather than from
// deltas: ORDER BY ... LIMIT (core::TopK: the top rows), and window
// functions or DISTINCT ON over one relation (core::PartitionRecompute: the
// partitions of the changed rows), also read by a query that filters and
// projects them (the top rows of each group).
#pragma once

#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"
#include "relation_scope.hpp"

namespace ivmx::pg {

// ORDER BY ... LIMIT / OFFSET of a view's query: the order over its output
// columns, with explicit directions and NULLS placement. Raises 0A000 for
// what cannot be kept (an order by an expression outside the select list,
// USING, a LIMIT that is not a constant or missing).
core::TopK DescribeTopK(Query* q);

// Describes a select-list expression holding window functions: checked,
// typed; its text comes with the whole query's (DescribePartitions).
void DescribeWindowColumn(core::OutputColumn& column, Node* expr);

// Makes `view` (described from q, a window or DISTINCT ON query over one
// relation) a partition-recomputed view: the partition keys become hidden
// columns, and the query is printed whole, as it is and restricted to the
// touched partitions. Raises 0A000 over several relations.
void DescribePartitions(Query* q, const RelationScope& deparse, core::ViewDefinition& view, int& hidden_keys);

// The window subquery of a query that only filters and projects one
// subquery in FROM computing window functions; nullptr for any other query.
Query* WindowSubquery(Query* q);

// The view of such a query q over its window subquery sub, described as
// `inner`: the same partitions, computed again through q.
core::ViewDefinition DescribeOverWindows(Query* q, Query* sub, const core::ViewDefinition& inner);

}  // namespace ivmx::pg
