// DISTINCT aggregates: count(DISTINCT x), sum(DISTINCT x), avg(DISTINCT x).
//
// The multiplicity of every non-null value of x in every group is kept in a
// companion table (DistinctValues). A delta first adds its netted value
// changes to those counts; a value whose count left or reached zero is a
// value the group gained or lost, and only those change the group's
// DISTINCT aggregates: +1 / -1 to the count, +x / -x to the sum. The group
// upsert reads these transitions from the counts as they are after the
// delta was added (its rows locked by this transaction until it ends), then
// the values whose count reached zero are deleted.
#pragma once

#include <string>
#include <vector>

#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// Suffix of the name of values table n (1-based): __ivm_values_<n>.
std::string DistinctValuesSuffix(size_t n);

// The values table that DISTINCT aggregate `agg` reads (its index in
// view.distinct_values); throws Error (internal_error) if there is none.
size_t DistinctValuesOf(const ViewDefinition& view, const Aggregate& agg);

// Adds the DistinctValues entries the view's DISTINCT aggregates need (one
// per argument and filter), naming their tables after the IMMV.
void AddDistinctValues(ViewDefinition& view);

// The steps adding the delta's netted value changes to every values table,
// to run before the groups are written.
std::vector<MaintenanceStep> CountDistinctValues(const ViewDefinition& view, const Delta& delta);

// The steps deleting the values whose count the delta brought to zero, to
// run last.
std::vector<MaintenanceStep> DeleteVanishedValues(const ViewDefinition& view, const Delta& delta);

// For DeltaQuery: the per-group change of the DISTINCT aggregates over
// values table j, as a FROM-item with the view's key columns and, per such
// aggregate column i, the delta columns ProjectDelta reads (the count, the
// sum or avg's sum and non-null count, the largest scales gained and lost).
// `counts` receives the names of the columns that are counts (0 for a group
// that gained and lost no value).
std::string DistinctChanges(const ViewDefinition& view, const Delta& delta, size_t j, std::vector<std::string>& columns,
                            std::vector<std::string>& counts);

// CREATE TABLE ... AS and CREATE UNIQUE INDEX of every values table.
std::vector<std::string> CreateDistinctValuesSql(const ViewDefinition& view);

// Statements that recompute every values table (empty it, then fill it
// unless with_data is false).
std::vector<std::string> RefreshDistinctValuesSql(const ViewDefinition& view, bool with_data, bool truncate);

}  // namespace ivmx::core
