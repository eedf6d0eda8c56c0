// View definitions shared by the core's unit tests.
#pragma once

#include "ivmx/core/view_ir.hpp"

namespace ivmx::test {

inline core::OutputColumn Key(const std::string& name, const std::string& expr, bool not_null = false) {
    core::OutputColumn c;
    c.name = name;
    c.role = core::ColumnRole::GroupKey;
    c.expression_sql = expr;
    c.not_null = not_null;
    return c;
}

inline core::Aggregate MakeAggregate(core::AggregateKind kind, const std::string& arg = "",
                                     const std::string& arg_type = "", const std::string& result_type = "bigint") {
    core::Aggregate agg;
    agg.kind = kind;
    agg.argument_sql = arg;
    agg.argument_type = arg_type;
    agg.result_type = result_type;
    return agg;
}

inline core::OutputColumn Agg(const std::string& name, core::AggregateKind kind, const std::string& arg = "",
                              const std::string& arg_type = "", const std::string& result_type = "bigint") {
    core::OutputColumn c;
    c.name = name;
    c.role = core::ColumnRole::Aggregate;
    c.aggregate = MakeAggregate(kind, arg, arg_type, result_type);
    return c;
}

inline core::ViewDefinition BaseView(core::ViewShape shape) {
    core::ViewDefinition v;
    v.immv = {"public", "mv"};
    v.relations.push_back({{"public", "accounts"}, "t", 1, {}});
    v.shape = shape;
    return v;
}

// SELECT bid, count(*), sum(abalance), min(abalance) FROM accounts GROUP BY bid
inline core::ViewDefinition BranchTotals() {
    auto v = BaseView(core::ViewShape::Grouped);
    v.columns.push_back(Key("bid", "t.bid"));
    v.columns.push_back(Agg("count", core::AggregateKind::CountStar));
    v.columns.push_back(Agg("sum", core::AggregateKind::Sum, "t.abalance", "integer", "bigint"));
    v.columns.push_back(Agg("min", core::AggregateKind::Min, "t.abalance", "integer", "integer"));
    return v;
}

}  // namespace ivmx::test
