// DISTINCT aggregates: count(DISTINCT x), sum(DISTINCT x), avg(DISTINCT x).
//
// The multiplicity of every non-null value of x in every group is kept in a
// companion table (DistinctValues). A delta first adds its netted value
// changes to those counts; a value whose count left or reached zero is a
// value the group gained or lost, and only those change the group's
// DISTINCT aggregates: +1 / -1 to the count, +x / -x to the sum. The group
// upsert reads these transitions from the rows that adding the delta wrote
// (in the same statement: their locks are held until the transaction ends),
// then the values whose count reached zero are deleted.
#pragma once

#include <string>
#include <vector>

#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// Whether the aggregate is kept from a values table: count, sum or avg with
// DISTINCT. (Aggregates recomputed on every change of their group, such as
// string_agg, take DISTINCT as it is; min, max and the like ignore it.)
bool CountsDistinctValues(const Aggregate& agg);

// Suffix of the name of values table n (1-based): __ivm_values_<n>.
std::string DistinctValuesSuffix(size_t n);

// The values table that DISTINCT aggregate `agg` reads (its index in
// view.distinct_values); throws Error (internal_error) if there is none.
size_t DistinctValuesOf(const ViewDefinition& view, const Aggregate& agg);

// Adds the DistinctValues entries the view's DISTINCT aggregates need (one
// per argument and filter), naming their tables after the IMMV.
void AddDistinctValues(ViewDefinition& view);

// WITH queries ("__ivm_vu<j> AS (INSERT ... RETURNING ...)") adding the
// delta's netted value changes to every values table, for the statement
// that writes the groups: each returns the rows it wrote, with the count
// now and the change just added (MultiplicityColumn(), ChangeColumn()).
// Rows are locked in key order, before any group row.
std::vector<std::string> DistinctValueUpdates(const ViewDefinition& view, const Delta& delta);

// The DELETE statements of the values whose count reached zero (the
// transaction's own: a value's count is zero only until the transaction
// that took it there deletes it), to run once the groups are written; none
// for a delta without deleted rows.
std::vector<std::string> VanishedValueDeletes(const ViewDefinition& view, const Delta& delta);

// The scratch column of a values table with the change last added.
std::string ChangeColumn();

// For DeltaQuery: the rows of the delta streams (`streams`, with
// `stream_columns` and __ivm_sign) followed by, for every values table j,
// one row per value a group gained (+1) or lost (-1), with sign 0 and the
// group's keys, in columns GainedColumn(j) and GainedValueColumn(j) (NULL in
// the other rows), read from the DistinctValueUpdates of the statement.
std::string WithDistinctTransitions(const ViewDefinition& view, const std::vector<std::string>& stream_columns,
                                    const std::string& streams);
std::string GainedColumn(size_t j);       // __ivm_dd_<j>__
std::string GainedValueColumn(size_t j);  // __ivm_dv_<j>__

// CREATE TABLE ... AS and CREATE UNIQUE INDEX of every values table.
std::vector<std::string> CreateDistinctValuesSql(const ViewDefinition& view);

// Statements that recompute every values table (empty it, then fill it
// unless with_data is false).
std::vector<std::string> RefreshDistinctValuesSql(const ViewDefinition& view, bool with_data, bool truncate);

}  // namespace ivmx::core
