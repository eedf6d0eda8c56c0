// Which aggregates the engine maintains, over which argument types, and how
// each one is kept in the IMMV (its strategy and hidden state).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// Maps a pg_catalog aggregate name and its argument count to a kind;
// nullopt for aggregates the engine cannot maintain.
std::optional<AggregateKind> AggregateKindByName(const std::string& name, int argument_count);

// SQL name of the aggregate function (count, sum, ..., string_agg).
std::string AggregateFunctionName(AggregateKind kind);

// The names of the aggregates the engine maintains, for a hint:
// "count, sum, ... and jsonb_object_agg".
std::string SupportedAggregateNames();

// How an aggregate is kept in the IMMV and maintained:
//   Count      count(*), count(x): a signed count;
//   Sum        sum, avg: a running sum and the number of non-null inputs;
//   Truth      bool_and, bool_or: the numbers of non-null and of true inputs;
//   Moments    variances and standard deviations over integers and numeric:
//              the number of non-null inputs, their sum and the sum of their
//              squares (numeric), from which PostgreSQL's value follows;
//   Xor        bit_xor: xor is its own inverse, so the xor of a change's
//              inserted and deleted inputs is folded into the stored value;
//   Fold       min, max, bit_and, bit_or: inserts fold into the stored
//              value, a delete that may have taken it away recomputes it;
//   Recompute  string_agg, array_agg and the JSON aggregates (their value
//              lists every input), and variances and standard deviations
//              over real and double precision (PostgreSQL's Youngs-Cramer
//              accumulation, whose rounding no running sum reproduces):
//              a group that a change reaches is recomputed with the
//              aggregate's own call.
enum class AggregateStrategy { Count, Sum, Truth, Moments, Xor, Fold, Recompute };
AggregateStrategy StrategyOf(const Aggregate& agg);

// var_pop/var_samp/stddev_pop/stddev_samp.
bool IsMomentKind(AggregateKind kind);
// stddev_pop/stddev_samp: the square root of the variance.
bool IsStddevKind(AggregateKind kind);

// The fewest inputs with which the aggregate's value is not NULL: 2 for
// the sample variance and standard deviation, 1 for the others.
int InputsForValue(AggregateKind kind);

// Whether the aggregate takes every row of its group as an input, NULL
// arguments too (array_agg, the JSON aggregates), rather than its non-null
// arguments only: its input count (TableColumn::NonNullCount) counts rows.
bool CountsRows(AggregateKind kind);

// Whether the aggregate's value depends on the order of its inputs
// (string_agg, array_agg, json_agg, jsonb_agg, jsonb_object_agg for
// repeated keys): ORDER BY inside it is maintained.
bool TakesOrderBy(AggregateKind kind);

// Whether the IMMV may hold the inputs of this aggregate in another order
// than the query gives them: an aggregate whose value follows the order of
// its inputs (a list, not jsonb_object_agg) without ORDER BY.
bool HasUnspecifiedOrder(const Aggregate& agg);

// Whether a sum/avg may hold Infinity or NaN, which cannot be subtracted
// back out: such values are recomputed instead (float and numeric inputs).
bool MayBeNonFinite(const Aggregate& agg);

// Moments over numeric: their display scale follows the largest of their
// inputs' and a NaN or infinity among them makes them NaN, neither of which
// a delete can take out of the sums: a group that loses a non-null input is
// recomputed, as one that lost its extreme.
bool IsNumericMoments(const Aggregate& agg);

// Whether the aggregate keeps a lost flag (TableColumn::Kind::LostExtreme):
// min/max, set when a delta deleted its extreme without replacing it; a sum
// that tracks its display scale (TracksScale); bit_and/bit_or and moments
// over numeric, set when a delta deleted any non-null input; aggregates of
// the Recompute strategy, set when a delta has any input of the group.
bool HasLostFlag(const Aggregate& agg);

// Whether an aggregate may have to be recomputed from the base relations
// (min/max, bit_and/bit_or, sums that may be non-finite, moments over
// numeric, the Recompute strategy).
bool IsRecomputed(const Aggregate& agg);

// The hidden state the IMMV keeps for an aggregate of a view of this
// shape, in table order (after the visible and hidden output columns):
// its number of inputs, its running sums or counts, its lost flag (grouped
// views only: without GROUP BY the flag travels with the delta).
std::vector<TableColumn::Kind> StateKinds(const Aggregate& agg, ViewShape shape);

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
