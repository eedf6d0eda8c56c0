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

// " FROM <source_1> AS <alias_1>, ..., <constant relations> [WHERE <where>]"
// for the view's relations (no FROM for a view without any: SELECT 1).
std::string FromList(const ViewDefinition& view, const std::vector<std::string>& sources);

// The FROM-items reading every relation in its current state, and the
// FromList over them; what joins one more condition to it (" WHERE " or
// " AND ").
std::vector<std::string> BaseSources(const ViewDefinition& view);
std::string FromBase(const ViewDefinition& view);
std::string MoreConditions(const ViewDefinition& view);

// A key column of the view (a group key, or a DISTINCT or bag column): its
// name, its expression over the relations' aliases, and whether it is known
// never to be NULL.
struct KeyColumn {
    std::string name;
    std::string expr;
    bool not_null = false;
};
std::vector<KeyColumn> KeyColumns(const ViewDefinition& view);

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

// Delta columns of min/max (and of a sum's largest scale): the extreme
// inserted and deleted for aggregate column i.
std::string InsertedExtreme(size_t i);
std::string DeletedExtreme(size_t i);

// Grouping expressions (keys and key-derived expressions) over the base alias.
std::vector<std::string> GroupingExpressions(const ViewDefinition& view);

// A key column's expression as a GROUP BY item: a bare literal constant
// (SELECT DISTINCT 1) is cast to its type, so that it is a value to group
// by rather than a select-list position.
std::string GroupingItem(const OutputColumn& column);

// "LATERAL (...) AS alias": the rows of `table` whose key columns equal
// those of the row `outer` (NULL matching NULL), with `select_list` over the
// table's alias "__ivm_l". Written so that an index on the keys is used
// whatever the keys hold: equality for keys that are not NULL, and a second
// branch, run only when the outer row has a NULL key, for the rest.
// `also`, when given, is one more condition over "__ivm_l" and `outer`.
std::string KeyLookup(const std::string& table, const std::vector<KeyColumn>& keys, const std::string& outer,
                      const std::string& select_list, const std::string& alias, const std::string& also = "");

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
