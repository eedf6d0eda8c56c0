// The SQL of each aggregate as the IMMV keeps it (see
// include/ivmx/core/aggregate_sql.hpp). One function per situation, one
// case per strategy (AggregateStrategy), so that an aggregate's rules read
// together.
#include "ivmx/core/aggregate_sql.hpp"

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

namespace {

// " FILTER (WHERE ...)" of an aggregate that has one.
std::string FilterClause(const Aggregate& agg) {
    return agg.filter_sql.empty() ? "" : " FILTER (WHERE " + agg.filter_sql + ")";
}

// A sum or average over an empty group is NULL.
std::string SumValue(const Aggregate& agg, size_t i, const std::string& name, const std::string& inputs,
                     const RowAndDelta& rows) {
    if (agg.kind == AggregateKind::Sum)
        return "CASE WHEN " + inputs + " = 0 THEN NULL ELSE " + RunningSum(agg, i, name, rows) + " END";
    const AvgState state = *AvgStateFor(agg.argument_type);
    return "CASE WHEN " + inputs + " = 0 THEN NULL ELSE CAST((" + RunningSum(agg, i, AvgSumColumn(i), rows) +
           ") / CAST(" + inputs + " AS " + state.divisor_type + ") AS " + agg.result_type + ") END";
}

// min/max: a lost extreme survives only if the deleted value was strictly
// beyond the stored one; else it is recomputed. bit_and/bit_or: inserts
// fold into the stored value; after a delete that may have changed it,
// NULL until recomputed.
std::string FoldValue(const Aggregate& agg, size_t i, const std::string& name, const std::string& inputs,
                      const RowAndDelta& rows) {
    const std::string mine = rows.Stored(name), theirs = rows.Delta(name);
    const std::string lost = rows.Delta(LostExtremeColumn(i));
    if (agg.kind == AggregateKind::Min || agg.kind == AggregateKind::Max) {
        const bool is_min = agg.kind == AggregateKind::Min;
        return "CASE WHEN " + inputs + " = 0 THEN NULL WHEN " + lost + " THEN CASE WHEN " + theirs +
               (is_min ? " > " : " < ") + mine + " THEN " + mine + " END ELSE " + (is_min ? "LEAST(" : "GREATEST(") +
               mine + ", " + theirs + ") END";
    }
    const char* op = agg.kind == AggregateKind::BitAnd ? " & " : " | ";
    return "CASE WHEN " + inputs + " = 0 OR " + lost + " THEN NULL WHEN " + mine + " IS NULL THEN " + theirs +
           " WHEN " + theirs + " IS NULL THEN " + mine + " ELSE " + mine + op + theirs + " END";
}

// "DISTINCT " in the call of a DISTINCT aggregate.
std::string Distinct(const Aggregate& agg) {
    return agg.distinct ? "DISTINCT " : "";
}

}  // namespace

std::string AggregateCall(const Aggregate& agg) {
    if (agg.kind == AggregateKind::CountStar) return "count(*)" + FilterClause(agg);
    const std::string& arguments = agg.call_arguments_sql.empty() ? agg.argument_sql : agg.call_arguments_sql;
    // (A call's own arguments carry its DISTINCT, as its ORDER BY.)
    const std::string distinct = agg.call_arguments_sql.empty() ? Distinct(agg) : "";
    return AggregateFunctionName(agg.kind) + "(" + distinct + arguments + ")" + FilterClause(agg);
}

std::string StateFromBase(const Aggregate& agg, TableColumn::Kind kind) {
    const std::string filter = FilterClause(agg);
    switch (kind) {
        case TableColumn::Kind::NonNullCount:
            return "count(" + (CountsRows(agg.kind) ? std::string("*") : Distinct(agg) + agg.argument_sql) + ")" +
                   filter;
        case TableColumn::Kind::AvgSum: {
            const AvgState state = *AvgStateFor(agg.argument_type);
            if (state.sum_argument_type.empty()) return "sum(" + Distinct(agg) + agg.argument_sql + ")" + filter;
            return "sum(" + Distinct(agg) + "CAST(" + agg.argument_sql + " AS " + state.sum_argument_type + "))" +
                   filter;
        }
        case TableColumn::Kind::VarSum:
            return "sum(" + VarInput(agg.argument_sql) + ")" + filter;
        case TableColumn::Kind::SquareSum:
            return "sum(" + VarInput(agg.argument_sql) + " * " + VarInput(agg.argument_sql) + ")" + filter;
        case TableColumn::Kind::TrueCount:
            return "count(CASE WHEN " + agg.argument_sql + " THEN 1 END)" + filter;
        case TableColumn::Kind::Output:
            return AggregateCall(agg);
        case TableColumn::Kind::Multiplicity:
            return "count(*)";
        case TableColumn::Kind::LostExtreme:
        case TableColumn::Kind::Unevaluated:
            break;
    }
    return "CAST(NULL AS boolean)";
}

std::string RowAndDelta::Stored(const std::string& column) const {
    return QualifiedColumn(m, column);
}

std::string RowAndDelta::Delta(const std::string& column) const {
    return QualifiedColumn(e, column);
}

std::string RowAndDelta::Sum(const std::string& column, bool nullable) const {
    if (nullable) return AddNullable(Stored(column), Delta(column));
    return Stored(column) + " + " + Delta(column);
}

std::string RunningSum(const Aggregate& agg, size_t i, const std::string& column, const RowAndDelta& rows) {
    const std::string sum = rows.Sum(column, true);
    if (!TracksScale(agg)) return sum;
    // (A delta sum of 0 with no inputs left is NULL: its scale unknown.)
    const std::string lost = "(" + rows.Delta(LostExtremeColumn(i)) + " IS TRUE AND NOT COALESCE(scale(" +
                             rows.Delta(column) + ") < scale(" + rows.Stored(column) + "), false))";
    return "CASE WHEN " + lost + " THEN NULL ELSE " + sum + " END";
}

std::string AccumulatedValue(const Aggregate& agg, size_t i, const std::string& name, const RowAndDelta& rows) {
    const std::string inputs = "(" + rows.Sum(NonNullCountColumn(i)) + ")";
    const std::string mine = rows.Stored(name), theirs = rows.Delta(name);
    const std::string lost = rows.Delta(LostExtremeColumn(i));
    switch (StrategyOf(agg)) {
        case AggregateStrategy::Count:
            return rows.Sum(name);
        case AggregateStrategy::Sum:
            return SumValue(agg, i, name, inputs, rows);
        case AggregateStrategy::Truth:
            return BoolFromCounts(agg, inputs, "(" + rows.Sum(TrueCountColumn(i)) + ")");
        case AggregateStrategy::Fold:
            return FoldValue(agg, i, name, inputs, rows);
        case AggregateStrategy::Moments: {
            const std::string value = MomentsValue(agg, inputs, "(" + rows.Sum(AvgSumColumn(i), true) + ")",
                                                   "(" + rows.Sum(SquareSumColumn(i), true) + ")");
            if (!HasLostFlag(agg)) return value;
            // Over numeric, after a delete of a non-null input: NULL
            // until recomputed with its sums.
            return "CASE WHEN " + lost + " THEN NULL ELSE " + value + " END";
        }
        case AggregateStrategy::Xor:
            // The delta's xor holds its deleted inputs as much as its
            // inserted ones: xor undoes itself.
            return "CASE WHEN " + inputs + " = 0 THEN NULL WHEN " + mine + " IS NULL THEN " + theirs + " WHEN " +
                   theirs + " IS NULL THEN " + mine + " ELSE " + mine + " # " + theirs + " END";
        case AggregateStrategy::Recompute:
            // A group the change reached is recomputed: NULL meanwhile.
            return "CASE WHEN " + inputs + " = 0 OR " + lost + " THEN NULL ELSE " + mine + " END";
    }
    return mine;
}

std::string StaleCondition(const Aggregate& agg, const std::string& value, const std::string& sum,
                           const std::string& inputs, const std::string& lost_flag) {
    std::vector<std::string> terms;
    if (HasLostFlag(agg)) {
        terms.push_back("(" + value + " IS NULL AND " + inputs + " >= " + std::to_string(InputsForValue(agg.kind)) +
                        ")");
        if (!lost_flag.empty()) terms.push_back(lost_flag + " IS TRUE");
    }
    if (MayBeNonFinite(agg)) terms.push_back("(" + sum + " - " + sum + ") <> 0");
    return Join(terms, " OR ");
}

std::string VarInput(const std::string& arg) {
    return "CAST(" + arg + " AS numeric)";
}

// As PostgreSQL's numeric_stddev_internal computes it, with the same
// numeric operations, so that the result has its value and display scale:
// (n * sum(x*x) - sum(x)^2) / (n * n) or / (n * (n - 1)), divided with the
// scale numeric division chooses (and for a standard deviation its square
// root at that scale); 0 (scale 0) for a numerator that is not positive;
// NULL without inputs (or, for the sample kinds, with one).
std::string MomentsValue(const Aggregate& agg, const std::string& n, const std::string& sum,
                         const std::string& squares) {
    const std::string numerator = "(CAST(" + n + " AS numeric) * " + squares + " - " + sum + " * " + sum + ")";
    const bool sample = InputsForValue(agg.kind) == 2;
    const std::string denominator =
        "(CAST(" + n + " AS numeric) * CAST(" + n + (sample ? " - 1" : "") + " AS numeric))";
    const std::string variance = numerator + " / " + denominator;
    return "CASE WHEN " + n + (sample ? " <= 1" : " <= 0") + " THEN NULL WHEN " + numerator +
           " <= 0 THEN CAST(0 AS numeric) ELSE " + (IsStddevKind(agg.kind) ? SqrtAtScale(variance) : variance) + " END";
}

std::string SqrtAtScale(const std::string& v) {
    // t: the candidate; u: one unit of v's scale (exactly: read from text);
    // t is the nearest when (t - u/2)^2 <= v < (t + u/2)^2, which numeric
    // products decide exactly (a tie is impossible: (t + u/2)^2 has one
    // more decimal than v can have).
    const std::string r = "__ivm_root";
    auto col = [&](const char* c) { return r + "." + c; };
    const std::string below = "(" + col("t") + " - " + col("u") + " * 0.5)";
    const std::string above = "(" + col("t") + " + " + col("u") + " * 0.5)";
    return "(SELECT CASE WHEN " + col("u") + " IS NULL THEN " + col("v") + " WHEN " + below + " * " + below + " > " +
           col("v") + " THEN " + col("t") + " - " + col("u") + " WHEN " + above + " * " + above + " <= " + col("v") +
           " THEN " + col("t") + " + " + col("u") + " ELSE " + col("t") +
           " END FROM (SELECT __ivm_q.v, round(sqrt(__ivm_q.v), scale(__ivm_q.v)) AS t, CAST('1e-' || "
           "scale(__ivm_q.v) AS numeric) AS u FROM (SELECT " +
           v + " AS v) AS __ivm_q) AS " + r + ")";
}

std::string BoolFromCounts(const Aggregate& agg, const std::string& non_null, const std::string& trues) {
    return "CASE WHEN " + non_null + " = 0 THEN NULL ELSE " + trues +
           (agg.kind == AggregateKind::BoolAnd ? " = " + non_null : " > 0") + " END";
}

std::string AddNullable(const std::string& a, const std::string& b) {
    return "CASE WHEN " + a + " IS NULL THEN " + b + " WHEN " + b + " IS NULL THEN " + a + " ELSE " + a + " + " + b +
           " END";
}

}  // namespace ivmx::core
