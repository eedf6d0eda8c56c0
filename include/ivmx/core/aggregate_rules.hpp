// Which aggregates the engine maintains, over which argument types, and the
// hidden state each one keeps in the IMMV.
#pragma once

#include <optional>
#include <string>

#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// Maps a pg_catalog aggregate name and its argument count to a kind;
// nullopt for aggregates the engine cannot maintain.
std::optional<AggregateKind> AggregateKindByName(const std::string& name, int argument_count);

// SQL name of the aggregate function (count, sum, avg, min, max, bool_and,
// bool_or, bit_and, bit_or, var_pop, var_samp).
std::string AggregateFunctionName(AggregateKind kind);

// Whether two aggregate calls compute the same value (one column of the
// IMMV can serve both).
bool SameAggregate(const Aggregate& a, const Aggregate& b);

// Whether sum() over this argument type (as printed by format_type_be) is maintained.
bool IsSummableType(const std::string& argument_type);

// Whether a running sum of the aggregate (sum(), or avg()'s sum) keeps a
// display scale that deletes can make too large: PostgreSQL's sum of
// numeric has the largest scale of its inputs (1 + 1.00 is 2.00; less the
// 1.00 it must be 1 again, but 2.00 - 1.00 is 1.00). Such a sum is
// recomputed when its group may have lost the inputs with the largest
// scale; a sum whose argument type fixes the scale cannot drift.
bool TracksScale(const Aggregate& agg);

// How avg() over an argument type is kept: a running sum of
// CAST(arg AS sum_argument_type) and a non-null count, divided as
// CAST(sum AS divisor_type) / CAST(count AS divisor_type), exactly as
// PostgreSQL's own avg() computes its result.
struct AvgState {
    std::string sum_argument_type;  // empty: sum the argument as it is
    std::string sum_type;           // type of the running sum
    std::string divisor_type;       // the count is cast to this type before dividing
};
std::optional<AvgState> AvgStateFor(const std::string& argument_type);

}  // namespace ivmx::core
