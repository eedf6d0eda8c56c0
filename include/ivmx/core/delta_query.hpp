// The aggregated delta of a keyed or aggregate view: one row per affected
// group with the signed change of every counter and sum, and the extreme
// values inserted and deleted for min/max. Used by the SQL writer.
#pragma once

#include <string>
#include <vector>

#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// A column of the pre-projection every delta stream is reduced to before
// aggregation: group keys and key-derived expressions, and aggregate
// arguments (named __ivm_arg_<n>__).
struct StreamColumn {
    std::string name;
    std::string expr;
};
std::vector<StreamColumn> StreamColumns(const ViewDefinition& view);

// " FROM <source_1> AS <alias_1>, ... [WHERE <where>]" for the view's relations.
std::string FromList(const ViewDefinition& view, const std::vector<std::string>& sources);

// Which streams of a delta to read.
enum class StreamSign { Any, Positive, Negative };

// UNION ALL of the selected streams, each projected to `columns` (and to a
// sign column __ivm_sign when with_sign). Empty if no stream matches.
std::string StreamUnion(const ViewDefinition& view, const std::vector<StreamColumn>& columns, const Delta& delta,
                        StreamSign which, bool with_sign);

// The delta aggregated per group (one row for a GlobalAggregate view), with
// the columns ProjectDelta reads: keys, derived columns, signed counters and
// sums, and per min/max the extreme inserted (__ivm_ins_<n>__) and deleted
// (__ivm_del_<n>__) values.
std::string DeltaQuery(const ViewDefinition& view, const Delta& delta);

// One output of the projection from a delta row onto IMMV columns.
struct ProjectedColumn {
    std::string name;
    std::string expr;
};

// Projects a delta row (qualifier.<delta column>) onto the IMMV's table
// columns in table order, followed for GlobalAggregate views by the
// lost-extreme flags that are not table columns there. cancelling: the
// delta may hold a row both inserted and deleted (Delta::consolidate).
// Expressions over aggregates are NULL: they are evaluated over the
// state of a written row, never over a delta (the row of a new group is
// flagged Unevaluated).
std::vector<ProjectedColumn> ProjectDelta(const ViewDefinition& view, const std::string& qualifier, bool cancelling);

// Grouping expressions (keys and key-derived expressions) over the base alias.
std::vector<std::string> GroupingExpressions(const ViewDefinition& view);

// `lhs = rhs`, or its NULL-matching form when either side may be NULL.
std::string MatchExpr(const std::string& lhs, const std::string& rhs, bool not_null);

// Whether the view keeps any min/max (or bit_and/bit_or) aggregate.
bool HasExtremes(const ViewDefinition& view);

// Whether a change may leave an aggregate of the view to recompute from
// the base relations (a lost min/max, a non-finite sum, an aggregate of the
// Recompute strategy: IsRecomputed).
bool NeedsRecompute(const ViewDefinition& view);

// Whether the view has an aggregate recomputed after any change of its
// group, inserts too (AggregateStrategy::Recompute).
bool RecomputesOnEveryChange(const ViewDefinition& view);

// Whether applying `delta` may leave groups to recompute: deletes, or any
// change when the view has aggregates recomputed after every change.
bool MayRecompute(const ViewDefinition& view, const Delta& delta);

}  // namespace ivmx::core
