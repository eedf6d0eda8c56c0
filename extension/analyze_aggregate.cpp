// The description of aggregate calls (see analyze_aggregate.hpp).
#include "analyze_aggregate.hpp"

#include <algorithm>
#include <vector>

#include "analyze_checks.hpp"
#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/pg/guards.hpp"

namespace ivmx::pg {

using core::NotSupported;

namespace {

// The SQL between the parentheses of an aggregate call, its arguments and
// ORDER BY, as PostgreSQL's deparser writes the call (without its FILTER,
// kept apart). PostgreSQL data only until the copy.
std::string CallArguments(Aggref* agg, const Deparser& deparse) {
    Aggref* unfiltered = PgCall([&] {
        Aggref* copy = static_cast<Aggref*>(copyObjectImpl(agg));
        copy->aggfilter = nullptr;
        return copy;
    });
    const std::string call = deparse(reinterpret_cast<Node*>(unfiltered));
    const size_t open = call.find('(');
    const size_t close = call.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open)
        throw core::Error(core::sqlstate::kInternalError, "cannot read the arguments of aggregate call " + call);
    return call.substr(open + 1, close - open - 1);
}

// string_agg's delimiter when it is a non-empty text constant, deparsed;
// empty otherwise.
std::string ConstantDelimiter(Aggref* agg, const Deparser& deparse) {
    Node* delimiter = reinterpret_cast<Node*>(castNode(TargetEntry, lsecond(agg->args))->expr);
    const bool usable = PgCall([&] {
        Node* bare = strip_implicit_coercions(delimiter);
        if (!IsA(bare, Const) || castNode(Const, bare)->constisnull || exprType(bare) != TEXTOID) return false;
        return VARSIZE_ANY_EXHDR(DatumGetPointer(castNode(Const, bare)->constvalue)) > 0;
    });
    return usable ? deparse(delimiter) : std::string();
}

// Checks the argument type of an aggregate whose maintenance depends on it.
void CheckArgumentType(const core::Aggregate& out, const std::string& name) {
    auto refuse = [&] {
        throw NotSupported(name + "(" + out.argument_type +
                           ") is not supported on incrementally maintainable materialized views");
    };
    if (out.kind == core::AggregateKind::Sum && !core::IsSummableType(out.argument_type)) refuse();
    if (out.kind == core::AggregateKind::Avg && !core::AvgStateFor(out.argument_type)) refuse();
    // PostgreSQL's variances and standard deviations take these types only.
    static const std::vector<std::string> kMoments = {"smallint", "integer", "bigint",
                                                      "numeric",  "real",    "double precision"};
    if (core::IsMomentKind(out.kind) &&
        std::find(kMoments.begin(), kMoments.end(), out.argument_type) == kMoments.end())
        refuse();
}

// count, sum and avg (DISTINCT x) are kept from the multiplicities of the
// values of x (core/distinct_values.hpp); min, max, bool_and, bool_or,
// bit_and and bit_or give the same result with DISTINCT or without.
void DescribeDistinct(core::Aggregate& out, const std::string& name, Oid argument_type) {
    using core::AggregateKind;
    switch (out.kind) {
        case AggregateKind::Count:
        case AggregateKind::Sum:
        case AggregateKind::Avg:
            if (!HasBtreeEquality(argument_type))
                throw NotSupported(name + "(DISTINCT " + out.argument_type +
                                       ") is not supported on incrementally maintainable materialized views",
                                   "The type has no btree equality operator to tell its values apart.");
            out.distinct = true;
            return;
        case AggregateKind::Min:
        case AggregateKind::Max:
        case AggregateKind::BoolAnd:
        case AggregateKind::BoolOr:
        case AggregateKind::BitAnd:
        case AggregateKind::BitOr:
            return;
        default:
            throw NotSupported("DISTINCT in aggregate " + name +
                                   "() is not supported on incrementally maintainable materialized views",
                               {}, "count, sum and avg may have DISTINCT.");
    }
}

}  // namespace

core::Aggregate DescribeAggregate(Aggref* agg, const Deparser& deparse) {
    if (agg->aggkind != AGGKIND_NORMAL) Unsupported("an ordered-set aggregate");
    const char* func_name = nullptr;
    bool builtin = false;
    PgCall([&] {
        func_name = get_func_name(agg->aggfnoid);
        builtin = get_func_namespace(agg->aggfnoid) == PG_CATALOG_NAMESPACE;
    });
    const std::string name = func_name != nullptr ? func_name : "?";
    // (The arguments without the ORDER BY expressions, which args holds too.)
    const int nargs = agg->aggstar ? 0 : list_length(agg->aggargtypes);
    auto kind = builtin ? core::AggregateKindByName(name, nargs) : std::nullopt;
    if (!kind)
        throw NotSupported(
            "aggregate function " + name + "() is not supported on incrementally maintainable materialized views", {},
            "Supported aggregates are " + core::SupportedAggregateNames() + ".");
    if (agg->aggorder != NIL && !core::TakesOrderBy(*kind))
        Unsupported(
            "ORDER BY in an aggregate other than string_agg, array_agg, json_agg, jsonb_agg and "
            "jsonb_object_agg",
            "The value of " + name + "() does not depend on the order of its inputs: leave ORDER BY out.");
    core::Aggregate out;
    out.kind = *kind;
    out.result_type = QualifiedTypeName(agg->aggtype, -1);
    if (agg->aggfilter != nullptr) {
        Node* filter = reinterpret_cast<Node*>(agg->aggfilter);
        CheckExpression(filter);
        out.filter_sql = deparse(filter);
    }
    if (out.kind == core::AggregateKind::CountStar) return out;
    ListCell* lc;
    foreach (lc, agg->args) CheckExpression(reinterpret_cast<Node*>(lfirst_node(TargetEntry, lc)->expr));
    Node* arg = reinterpret_cast<Node*>(castNode(TargetEntry, linitial(agg->args))->expr);
    out.argument_sql = deparse(arg);
    out.argument_type = TypeName(PgCall([&] { return exprType(arg); }));
    if (agg->aggdistinct != NIL) DescribeDistinct(out, name, PgCall([&] { return exprType(arg); }));
    // numeric(p,s) values all have scale s (a typmod of numeric holds its scale).
    out.scale_fixed = out.argument_type == "numeric" && PgCall([&] { return exprTypmod(arg); }) >= 0;
    if (core::TakesOrderBy(out.kind)) {
        out.call_arguments_sql = CallArguments(agg, deparse);
        out.ordered = agg->aggorder != NIL;
        if (out.kind == core::AggregateKind::StringAgg) out.constant_delimiter_sql = ConstantDelimiter(agg, deparse);
    }
    CheckArgumentType(out, name);
    return out;
}

// Fills in an aggregate column from its aggregate call.
void DescribeAggregateColumn(core::OutputColumn& column, Aggref* agg, const Deparser& deparse) {
    column.role = core::ColumnRole::Aggregate;
    column.aggregate = DescribeAggregate(agg, deparse);
    column.type_sql = column.aggregate->result_type;
    // (json has no equality: its values are compared as text.)
    column.has_equality = HasBtreeEquality(agg->aggtype);
}

}  // namespace ivmx::pg
