// The description of an aggregate call of a defining query as the core's
// core::Aggregate (part of the analysis, analyze.cpp): which aggregates and
// argument types are maintained, with which arguments, ORDER BY and FILTER.
#pragma once

#include <functional>
#include <string>

#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Deparses an expression of the defining query over the aliases of the
// view's relation occurrences (column references qualified by them).
using Deparser = std::function<std::string(Node*)>;

// The aggregate call as the core's IR. Throws core::NotSupported (0A000)
// for what is not maintained: DISTINCT inside, ordered-set aggregates,
// aggregates other than the rule table's (core::AggregateKindByName),
// ORDER BY inside an aggregate whose value does not follow the order of
// its inputs, argument types the aggregate is not kept over.
core::Aggregate DescribeAggregate(Aggref* agg, const Deparser& deparse);

// Fills in an aggregate column of the view from its aggregate call: its
// role, aggregate, type and whether the type has an equality.
void DescribeAggregateColumn(core::OutputColumn& column, Aggref* agg, const Deparser& deparse);

}  // namespace ivmx::pg
