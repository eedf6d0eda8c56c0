// The SQL of each aggregate as the IMMV keeps it (its strategy:
// aggregate_rules.hpp): its call and hidden state computed from the base
// relations (population, recompute), and its new value when a delta row is
// added to a stored group row. The delta rows themselves are written by
// delta_query.cpp; the statements around these pieces by sql_writer.cpp.
#pragma once

#include <string>

#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// The call of an aggregate over the base relations, with its FILTER.
std::string AggregateCall(const Aggregate& agg);

// The expression computing hidden state column `kind` (NonNullCount,
// AvgSum, TrueCount, VarSum, SquareSum, LostExtreme, Unevaluated) of an
// aggregate from the base relations, as population and recomputes do.
std::string StateFromBase(const Aggregate& agg, TableColumn::Kind kind);

// A stored IMMV row (qualifier m) and a delta row (qualifier e) that an
// ON CONFLICT DO UPDATE or UPDATE adds to it; every expression reads the
// stored values only.
struct RowAndDelta {
    std::string m, e;
    std::string Stored(const std::string& column) const;
    std::string Delta(const std::string& column) const;
    // m.column + e.column; nullable: a NULL operand is no value, not unknown.
    std::string Sum(const std::string& column, bool nullable = false) const;
};

// The new running sum `column` of aggregate column i (sum's value, or
// avg's sum). For a sum that tracks its display scale (TracksScale), NULL
// (the group is then recomputed) when the delta deleted inputs whose scale
// may be the largest of the group's (the stored sum's scale) and inserted
// none as large: its flag is then set (the value of a new group,
// ProjectDelta) and the delta row's sum has the deleted scale. Otherwise
// the sum of the stored and the delta's sums has the right scale already:
// the larger of both.
std::string RunningSum(const Aggregate& agg, size_t i, const std::string& column, const RowAndDelta& rows);

// The new value of aggregate column i, named `name`, once the delta row is
// added to the stored row. NULL while the group is to be recomputed.
std::string AccumulatedValue(const Aggregate& agg, size_t i, const std::string& name, const RowAndDelta& rows);

// Whether aggregate column i, whose value is `value` and number of inputs
// `inputs`, is stale until recomputed: no value though it has enough
// inputs for one (a lost min/max, a group a change reached), or a
// non-finite running sum (Infinity - Infinity is NaN). lost_flag: the
// group row's LostExtreme flag, empty when there is none. Empty when the
// aggregate is never recomputed.
std::string StaleCondition(const Aggregate& agg, const std::string& value, const std::string& sum,
                           const std::string& inputs, const std::string& lost_flag);

// The argument of the moments (sum and sum of squares) as it is summed (numeric).
std::string VarInput(const std::string& arg);

// var_pop / var_samp / stddev_pop / stddev_samp from the number of
// non-null inputs, their sum and the sum of their squares (numeric),
// exactly as PostgreSQL's numeric_stddev_internal computes them, display
// scale included.
std::string MomentsValue(const Aggregate& agg, const std::string& n, const std::string& sum,
                         const std::string& squares);

// The square root of a non-negative numeric `v` rounded to v's display
// scale, as PostgreSQL's sqrt_var(v, scale(v)) gives it (sqrt() picks a
// scale of its own; rounding its result again could round twice): the
// candidate round(sqrt(v), scale(v)) is moved by one unit of that scale when
// its square shows it is not the nearest. NaN stays NaN.
std::string SqrtAtScale(const std::string& v);

// bool_and / bool_or from the number of non-null and of true inputs.
std::string BoolFromCounts(const Aggregate& agg, const std::string& non_null, const std::string& trues);

// `a + b` where a NULL operand stands for "no value" rather than unknown.
std::string AddNullable(const std::string& a, const std::string& b);

}  // namespace ivmx::core
