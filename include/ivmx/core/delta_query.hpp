// The aggregated delta of a keyed or aggregate view: one row per affected
// group with the signed change of every counter and sum, and the extreme
// values inserted and deleted for min/max. Used by the SQL writer.
#pragma once

#include <string>
#include <vector>

#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// How the per-side values of a delta column are combined when a statement
// both inserted and deleted rows.
enum class Combine { GroupBy, Sum, Min, Max };

struct DeltaColumn {
    std::string name;
    std::string inserted_expr;  // over the inserted rows (aggregate or key expression)
    std::string deleted_expr;   // over the deleted rows, already negated where signed
    Combine combine = Combine::GroupBy;
    std::string type;  // result type after combining (for Sum)
};

// Delta columns of a Grouped, Distinct or GlobalAggregate view.
std::vector<DeltaColumn> DeltaColumns(const ViewDefinition& view);

// The delta as a query with DeltaColumns' names; one row per group
// (exactly one row for a GlobalAggregate view).
std::string DeltaQuery(const ViewDefinition& view, const DeltaSource& delta);

// One output of the projection from a delta row onto IMMV columns.
struct ProjectedColumn {
    std::string name;
    std::string expr;
};

// Projects a delta row (qualifier.<delta column>) onto the IMMV's table
// columns in table order, followed for GlobalAggregate views by the
// lost-extreme flags that are not table columns there.
std::vector<ProjectedColumn> ProjectDelta(const ViewDefinition& view, const std::string& qualifier);

// Grouping expressions (keys and key-derived expressions) over the base alias.
std::vector<std::string> GroupingExpressions(const ViewDefinition& view);

// `lhs = rhs`, or its NULL-matching form when either side may be NULL.
std::string MatchExpr(const std::string& lhs, const std::string& rhs, bool not_null);

// `a + b` where a NULL operand stands for "no value" rather than unknown.
std::string AddNullable(const std::string& a, const std::string& b);

// Whether the view keeps any min/max aggregate.
bool HasExtremes(const ViewDefinition& view);

}  // namespace ivmx::core
