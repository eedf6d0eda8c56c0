// Aggregate support rules (see include/ivmx/core/aggregate_rules.hpp).
#include "ivmx/core/aggregate_rules.hpp"

#include <set>
#include <vector>

namespace ivmx::core {

namespace {

// One maintained aggregate function: its name, its number of arguments
// and how its inputs are counted and ordered.
struct AggregateRule {
    AggregateKind kind;
    const char* name;
    int arguments;                // -1: count, with 0 (count(*)) or 1
    bool counts_rows = false;     // NULL arguments are inputs too (CountsRows)
    bool takes_order_by = false;  // its value follows the order of its inputs
};

const std::vector<AggregateRule>& Rules() {
    static const std::vector<AggregateRule> rules = {
        {AggregateKind::CountStar, "count", 0},
        {AggregateKind::Count, "count", 1},
        {AggregateKind::Sum, "sum", 1},
        {AggregateKind::Avg, "avg", 1},
        {AggregateKind::Min, "min", 1},
        {AggregateKind::Max, "max", 1},
        {AggregateKind::BoolAnd, "bool_and", 1},
        {AggregateKind::BoolOr, "bool_or", 1},
        {AggregateKind::BitAnd, "bit_and", 1},
        {AggregateKind::BitOr, "bit_or", 1},
        {AggregateKind::BitXor, "bit_xor", 1},
        {AggregateKind::VarPop, "var_pop", 1},
        {AggregateKind::VarSamp, "var_samp", 1},
        {AggregateKind::StddevPop, "stddev_pop", 1},
        {AggregateKind::StddevSamp, "stddev_samp", 1},
        {AggregateKind::StringAgg, "string_agg", 2, false, true},
        {AggregateKind::ArrayAgg, "array_agg", 1, true, true},
        {AggregateKind::JsonAgg, "json_agg", 1, true, true},
        {AggregateKind::JsonbAgg, "jsonb_agg", 1, true, true},
        {AggregateKind::JsonbObjectAgg, "jsonb_object_agg", 2, true, true},
    };
    return rules;
}

// Other names of the same aggregates.
struct Alias {
    const char* name;
    AggregateKind kind;
};
const std::vector<Alias>& Aliases() {
    static const std::vector<Alias> aliases = {
        {"every", AggregateKind::BoolAnd},
        {"variance", AggregateKind::VarSamp},
        {"stddev", AggregateKind::StddevSamp},
    };
    return aliases;
}

const AggregateRule& RuleOf(AggregateKind kind) {
    for (const AggregateRule& rule : Rules())
        if (rule.kind == kind) return rule;
    return Rules().front();
}

bool IsFloat(const std::string& type) {
    return type == "real" || type == "double precision";
}

}  // namespace

std::optional<AggregateKind> AggregateKindByName(const std::string& name, int argument_count) {
    std::string canonical = name;
    for (const Alias& alias : Aliases())
        if (name == alias.name) canonical = RuleOf(alias.kind).name;
    for (const AggregateRule& rule : Rules())
        if (canonical == rule.name && rule.arguments == argument_count) return rule.kind;
    return std::nullopt;
}

std::string AggregateFunctionName(AggregateKind kind) {
    return RuleOf(kind).name;
}

std::string SupportedAggregateNames() {
    std::vector<std::string> names;
    for (const AggregateRule& rule : Rules()) {
        if (rule.kind == AggregateKind::CountStar) continue;
        names.push_back(rule.name);
        for (const Alias& alias : Aliases())
            if (alias.kind == rule.kind) names.push_back(alias.name);
    }
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
    return out;
}

AggregateStrategy StrategyOf(const Aggregate& agg) {
    switch (agg.kind) {
        case AggregateKind::CountStar:
        case AggregateKind::Count:
            return AggregateStrategy::Count;
        case AggregateKind::Sum:
        case AggregateKind::Avg:
            return AggregateStrategy::Sum;
        case AggregateKind::BoolAnd:
        case AggregateKind::BoolOr:
            return AggregateStrategy::Truth;
        case AggregateKind::Min:
        case AggregateKind::Max:
        case AggregateKind::BitAnd:
        case AggregateKind::BitOr:
            return AggregateStrategy::Fold;
        case AggregateKind::BitXor:
            return AggregateStrategy::Xor;
        case AggregateKind::VarPop:
        case AggregateKind::VarSamp:
        case AggregateKind::StddevPop:
        case AggregateKind::StddevSamp:
            return IsFloat(agg.argument_type) ? AggregateStrategy::Recompute : AggregateStrategy::Moments;
        case AggregateKind::StringAgg:
        case AggregateKind::ArrayAgg:
        case AggregateKind::JsonAgg:
        case AggregateKind::JsonbAgg:
        case AggregateKind::JsonbObjectAgg:
            return AggregateStrategy::Recompute;
    }
    return AggregateStrategy::Recompute;
}

bool IsMomentKind(AggregateKind kind) {
    return kind == AggregateKind::VarPop || kind == AggregateKind::VarSamp || IsStddevKind(kind);
}

bool IsStddevKind(AggregateKind kind) {
    return kind == AggregateKind::StddevPop || kind == AggregateKind::StddevSamp;
}

int InputsForValue(AggregateKind kind) {
    return kind == AggregateKind::VarSamp || kind == AggregateKind::StddevSamp ? 2 : 1;
}

bool CountsRows(AggregateKind kind) {
    return RuleOf(kind).counts_rows;
}

bool TakesOrderBy(AggregateKind kind) {
    return RuleOf(kind).takes_order_by;
}

bool HasUnspecifiedOrder(const Aggregate& agg) {
    return TakesOrderBy(agg.kind) && agg.kind != AggregateKind::JsonbObjectAgg && !agg.ordered;
}

bool MayBeNonFinite(const Aggregate& agg) {
    if (agg.kind != AggregateKind::Sum && agg.kind != AggregateKind::Avg) return false;
    return IsFloat(agg.argument_type) || agg.argument_type == "numeric";
}

bool IsNumericMoments(const Aggregate& agg) {
    return StrategyOf(agg) == AggregateStrategy::Moments && agg.argument_type == "numeric";
}

bool HasLostFlag(const Aggregate& agg) {
    const AggregateStrategy strategy = StrategyOf(agg);
    return strategy == AggregateStrategy::Fold || strategy == AggregateStrategy::Recompute || TracksScale(agg) ||
           IsNumericMoments(agg);
}

bool IsRecomputed(const Aggregate& agg) {
    const AggregateStrategy strategy = StrategyOf(agg);
    return strategy == AggregateStrategy::Fold || strategy == AggregateStrategy::Recompute || MayBeNonFinite(agg) ||
           IsNumericMoments(agg);
}

std::vector<TableColumn::Kind> StateKinds(const Aggregate& agg, ViewShape shape) {
    using Kind = TableColumn::Kind;
    const AggregateStrategy strategy = StrategyOf(agg);
    if (strategy == AggregateStrategy::Count) return {};
    std::vector<Kind> kinds{Kind::NonNullCount};
    if (agg.kind == AggregateKind::Avg) kinds.push_back(Kind::AvgSum);
    if (strategy == AggregateStrategy::Moments) {
        kinds.push_back(Kind::VarSum);
        kinds.push_back(Kind::SquareSum);
    }
    if (strategy == AggregateStrategy::Truth) kinds.push_back(Kind::TrueCount);
    if (HasLostFlag(agg) && shape == ViewShape::Grouped) kinds.push_back(Kind::LostExtreme);
    return kinds;
}

bool SameAggregate(const Aggregate& a, const Aggregate& b) {
    return a.kind == b.kind && a.argument_sql == b.argument_sql && a.argument_type == b.argument_type &&
           a.result_type == b.result_type && a.filter_sql == b.filter_sql && a.scale_fixed == b.scale_fixed &&
           a.call_arguments_sql == b.call_arguments_sql && a.distinct == b.distinct;
}

bool TracksScale(const Aggregate& agg) {
    return (agg.kind == AggregateKind::Sum || agg.kind == AggregateKind::Avg) && agg.argument_type == "numeric" &&
           !agg.scale_fixed;
}

bool IsSummableType(const std::string& argument_type) {
    static const std::set<std::string> kSummable = {"smallint", "integer",          "bigint", "numeric",
                                                    "real",     "double precision", "money",  "interval"};
    return kSummable.count(argument_type) > 0;
}

std::optional<AvgState> AvgStateFor(const std::string& argument_type) {
    // Same accumulators as PostgreSQL's avg(): int2/int4 sum in bigint,
    // int8/numeric in numeric, floats in double precision, intervals as intervals.
    if (argument_type == "smallint" || argument_type == "integer") return AvgState{"", "bigint", "numeric"};
    if (argument_type == "bigint" || argument_type == "numeric") return AvgState{"", "numeric", "numeric"};
    if (IsFloat(argument_type)) return AvgState{"double precision", "double precision", "double precision"};
    if (argument_type == "interval") return AvgState{"", "interval", "double precision"};
    return std::nullopt;
}

}  // namespace ivmx::core
