// Aggregate support rules (see include/ivmx/core/aggregate_rules.hpp).
#include "ivmx/core/aggregate_rules.hpp"

#include <set>

namespace ivmx::core {

std::optional<AggregateKind> AggregateKindByName(const std::string& name, int argument_count) {
    if (name == "count") return argument_count == 0 ? AggregateKind::CountStar : AggregateKind::Count;
    if (argument_count != 1) return std::nullopt;
    if (name == "sum") return AggregateKind::Sum;
    if (name == "avg") return AggregateKind::Avg;
    if (name == "min") return AggregateKind::Min;
    if (name == "max") return AggregateKind::Max;
    if (name == "bool_and" || name == "every") return AggregateKind::BoolAnd;
    if (name == "bool_or") return AggregateKind::BoolOr;
    if (name == "bit_and") return AggregateKind::BitAnd;
    if (name == "bit_or") return AggregateKind::BitOr;
    if (name == "var_pop") return AggregateKind::VarPop;
    if (name == "var_samp" || name == "variance") return AggregateKind::VarSamp;
    return std::nullopt;
}

std::string AggregateFunctionName(AggregateKind kind) {
    switch (kind) {
        case AggregateKind::CountStar:
        case AggregateKind::Count:
            return "count";
        case AggregateKind::Sum:
            return "sum";
        case AggregateKind::Avg:
            return "avg";
        case AggregateKind::Min:
            return "min";
        case AggregateKind::Max:
            return "max";
        case AggregateKind::BoolAnd:
            return "bool_and";
        case AggregateKind::BoolOr:
            return "bool_or";
        case AggregateKind::BitAnd:
            return "bit_and";
        case AggregateKind::BitOr:
            return "bit_or";
        case AggregateKind::VarPop:
            return "var_pop";
        case AggregateKind::VarSamp:
            return "var_samp";
    }
    return "count";
}

bool SameAggregate(const Aggregate& a, const Aggregate& b) {
    return a.kind == b.kind && a.argument_sql == b.argument_sql && a.argument_type == b.argument_type &&
           a.result_type == b.result_type && a.filter_sql == b.filter_sql && a.scale_fixed == b.scale_fixed &&
           a.distinct == b.distinct;
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
    if (argument_type == "real" || argument_type == "double precision")
        return AvgState{"double precision", "double precision", "double precision"};
    if (argument_type == "interval") return AvgState{"", "interval", "double precision"};
    return std::nullopt;
}

}  // namespace ivmx::core
