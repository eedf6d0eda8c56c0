// Views over one table, maintained statement by statement (and transaction
// by transaction) with the core's delta and apply statements: after every
// step the IMMV must hold what its defining query returns, and its hidden
// counters and sums what a fresh population computes.
#include "immediate_run.hpp"

namespace ivmx::sqlb {
namespace {

using core::AggregateKind;
using core::ViewShape;

core::ViewDefinition OverAcc(ViewShape shape, const std::vector<std::string>& columns_read) {
    core::ViewDefinition v;
    v.immv = {"s", "mv"};
    v.relations.push_back(Relation(Acc(), "a", columns_read));
    v.shape = shape;
    return v;
}

class SingleTable : public BehaviourTest {
  protected:
    void Run(core::ViewDefinition view, const std::string& expected, ImmediateOptions options = {}) {
        Immv immv(std::move(view), expected);
        RunImmediate(immv, {Acc()}, gen(), Repro(), options);
    }
};

// SELECT g, count(*), count(v), sum(v), avg(v) FROM acc GROUP BY g
TEST_F(SingleTable, GroupedCountSumAvgWithNullKeysAndArguments) {
    auto v = OverAcc(ViewShape::Grouped, {"g", "v"});
    v.columns = {GroupKey("g", "a.g"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("nv", AggregateKind::Count, "a.v", "integer"),
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("m", AggregateKind::Avg, "a.v", "integer", "numeric")};
    Run(v, "SELECT g, count(*), count(v), sum(v), avg(v) FROM {acc} GROUP BY g");
}

// sum and avg of numeric and double precision, with NaN and infinities:
// values that cannot be subtracted back out are recomputed.
TEST_F(SingleTable, GroupedNumericAndFloatSumsWithNonFiniteValues) {
    auto v = OverAcc(ViewShape::Grouped, {"h", "w", "f"});
    v.columns = {GroupKey("h", "a.h"),
                 Aggregate("sw", AggregateKind::Sum, "a.w", "numeric", "numeric"),
                 Aggregate("aw", AggregateKind::Avg, "a.w", "numeric", "numeric"),
                 Aggregate("sf", AggregateKind::Sum, "a.f", "double precision", "double precision"),
                 Aggregate("af", AggregateKind::Avg, "a.f", "double precision", "double precision"),
                 Aggregate("n", AggregateKind::CountStar)};
    ImmediateOptions options;
    options.non_finite = true;
    Run(v, "SELECT h, sum(w), avg(w), sum(f), avg(f), count(*) FROM {acc} GROUP BY h", options);
}

TEST_F(SingleTable, GroupedNumericAndFloatSumsFinite) {
    auto v = OverAcc(ViewShape::Grouped, {"g", "w", "f"});
    v.columns = {GroupKey("g", "a.g"), Aggregate("sw", AggregateKind::Sum, "a.w", "numeric", "numeric"),
                 Aggregate("af", AggregateKind::Avg, "a.f", "double precision", "double precision"),
                 Aggregate("aw", AggregateKind::Avg, "a.w", "numeric", "numeric")};
    Run(v, "SELECT g, sum(w), avg(f), avg(w) FROM {acc} GROUP BY g");
}

// min/max of integers and texts: a group that loses its extreme is
// recomputed from the table.
TEST_F(SingleTable, GroupedMinMax) {
    auto v = OverAcc(ViewShape::Grouped, {"g", "h", "v"});
    v.columns = {GroupKey("g", "a.g"),
                 Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer"),
                 Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer"),
                 Aggregate("first", AggregateKind::Min, "a.h", "text", "text"),
                 Aggregate("last", AggregateKind::Max, "a.h", "text", "text"),
                 Aggregate("n", AggregateKind::CountStar)};
    Run(v, "SELECT g, min(v), max(v), min(h), max(h), count(*) FROM {acc} GROUP BY g");
}

TEST_F(SingleTable, GroupedMinMaxOfNumericAndFloatWithNonFiniteValues) {
    auto v = OverAcc(ViewShape::Grouped, {"g", "w", "f"});
    v.columns = {GroupKey("g", "a.g"), Aggregate("lo", AggregateKind::Min, "a.w", "numeric", "numeric"),
                 Aggregate("hi", AggregateKind::Max, "a.w", "numeric", "numeric"),
                 Aggregate("flo", AggregateKind::Min, "a.f", "double precision", "double precision"),
                 Aggregate("fhi", AggregateKind::Max, "a.f", "double precision", "double precision")};
    ImmediateOptions options;
    options.non_finite = true;
    Run(v, "SELECT g, min(w), max(w), min(f), max(f) FROM {acc} GROUP BY g", options);
}

// SELECT count(*), sum(v), max(v) FROM acc GROUP BY g, h: keys the select
// list omits are hidden columns.
TEST_F(SingleTable, GroupedByHiddenKeys) {
    auto v = OverAcc(ViewShape::Grouped, {"g", "h", "v"});
    auto g = GroupKey(core::HiddenKeyColumn(1), "a.g");
    auto h = GroupKey(core::HiddenKeyColumn(2), "a.h");
    g.hidden = h.hidden = true;
    v.columns = {Aggregate("n", AggregateKind::CountStar),
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer"), g, h};
    Run(v, "SELECT count(*), sum(v), max(v) FROM {acc} GROUP BY g, h");
}

// SELECT v % 3 AS r, h, count(*), min(id) FROM acc WHERE g IS NOT NULL GROUP BY v % 3, h
TEST_F(SingleTable, GroupedByExpressionWithWhere) {
    auto v = OverAcc(ViewShape::Grouped, {"id", "g", "h", "v"});
    v.where_sql = "(a.g IS NOT NULL)";
    v.columns = {GroupKey("r", "(a.v % 3)"), GroupKey("h", "a.h"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("lo", AggregateKind::Min, "a.id", "integer", "integer")};
    Run(v, "SELECT v % 3, h, count(*), min(id) FROM {acc} WHERE g IS NOT NULL GROUP BY v % 3, h");
}

// An aggregate without GROUP BY: one row, never deleted, also when the
// table is empty.
TEST_F(SingleTable, GlobalAggregate) {
    auto v = OverAcc(ViewShape::GlobalAggregate, {"h", "v"});
    v.columns = {Aggregate("n", AggregateKind::CountStar),
                 Aggregate("nv", AggregateKind::Count, "a.v", "integer"),
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("m", AggregateKind::Avg, "a.v", "integer", "numeric"),
                 Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer"),
                 Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer"),
                 Aggregate("first", AggregateKind::Min, "a.h", "text", "text")};
    Run(v, "SELECT count(*), count(v), sum(v), avg(v), min(v), max(v), min(h) FROM {acc}");
}

TEST_F(SingleTable, GlobalAggregateEmptiedAndRefilled) {
    auto v = OverAcc(ViewShape::GlobalAggregate, {"v"});
    v.columns = {Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer"),
                 Aggregate("n", AggregateKind::CountStar)};
    // Few rows: the table is often empty, and min/max/sum NULL.
    Immv immv(v, "SELECT sum(v), max(v), count(*) FROM {acc}");
    ImmediateOptions options;
    RunImmediate(immv, {Acc()}, gen(), Repro(), options, 1);
}

TEST_F(SingleTable, GlobalAggregateOfNonFiniteValues) {
    auto v = OverAcc(ViewShape::GlobalAggregate, {"w", "f"});
    v.columns = {Aggregate("sw", AggregateKind::Sum, "a.w", "numeric", "numeric"),
                 Aggregate("af", AggregateKind::Avg, "a.f", "double precision", "double precision"),
                 Aggregate("hf", AggregateKind::Max, "a.f", "double precision", "double precision"),
                 Aggregate("lw", AggregateKind::Min, "a.w", "numeric", "numeric")};
    ImmediateOptions options;
    options.non_finite = true;
    Run(v, "SELECT sum(w), avg(f), max(f), min(w) FROM {acc}", options);
}

// Aggregates with FILTER (WHERE ...): the condition selects the changed
// rows each one accumulates, and the rows a recompute reads.
TEST_F(SingleTable, GroupedWithFilters) {
    auto v = OverAcc(ViewShape::Grouped, {"g", "h", "v", "w"});
    v.columns = {GroupKey("g", "a.g"),
                 Filtered(Aggregate("pos", AggregateKind::CountStar), "(a.v > 0)"),
                 Filtered(Aggregate("na", AggregateKind::Count, "a.v", "integer"), "(a.h = 'a'::text)"),
                 Filtered(Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"), "(a.h IS NOT NULL)"),
                 Filtered(Aggregate("aw", AggregateKind::Avg, "a.w", "numeric", "numeric"), "(a.v > 0)"),
                 Filtered(Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer"), "(a.h <> 'b'::text)"),
                 Filtered(Aggregate("hi", AggregateKind::Max, "a.h", "text", "text"), "(a.v < 3)"),
                 Aggregate("n", AggregateKind::CountStar)};
    Run(v,
        "SELECT g, count(*) FILTER (WHERE v > 0), count(v) FILTER (WHERE h = 'a'), sum(v) FILTER (WHERE h IS NOT "
        "NULL), avg(w) FILTER (WHERE v > 0), min(v) FILTER (WHERE h <> 'b'), max(h) FILTER (WHERE v < 3), count(*) "
        "FROM {acc} GROUP BY g");
}

TEST_F(SingleTable, GlobalAggregateWithFilters) {
    auto v = OverAcc(ViewShape::GlobalAggregate, {"g", "v", "w"});
    v.columns = {Filtered(Aggregate("n1", AggregateKind::CountStar), "(a.g = 1)"),
                 Filtered(Aggregate("sw", AggregateKind::Sum, "a.w", "numeric", "numeric"), "(a.g IS NULL)"),
                 Filtered(Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer"), "(a.g > 2)")};
    Run(v,
        "SELECT count(*) FILTER (WHERE g = 1), sum(w) FILTER (WHERE g IS NULL), max(v) FILTER (WHERE g > 2) FROM "
        "{acc}");
}

// bit_xor folded in both ways, standard deviations from the moments (over
// numeric recomputed after deletes), variances over floats recomputed for
// every group a change reaches.
TEST_F(SingleTable, GroupedXorAndStandardDeviations) {
    auto v = OverAcc(ViewShape::Grouped, {"g", "h", "v", "w", "f"});
    v.columns = {GroupKey("g", "a.g"),
                 Aggregate("x", AggregateKind::BitXor, "a.v", "integer", "integer"),
                 Filtered(Aggregate("xh", AggregateKind::BitXor, "a.v", "integer", "integer"), "(a.h = 'a'::text)"),
                 Aggregate("sd", AggregateKind::StddevSamp, "a.v", "integer", "numeric"),
                 Aggregate("sw", AggregateKind::StddevPop, "a.w", "numeric", "numeric"),
                 Aggregate("vf", AggregateKind::VarPop, "a.f", "double precision", "double precision"),
                 Aggregate("n", AggregateKind::CountStar)};
    Run(v,
        "SELECT g, bit_xor(v), bit_xor(v) FILTER (WHERE h = 'a'), stddev_samp(v), stddev_pop(w), var_pop(f), "
        "count(*) FROM {acc} GROUP BY g");
}

// Lists in a given order, recomputed for every group a change reaches, and
// an expression over one.
TEST_F(SingleTable, GroupedListsInOrder) {
    auto v = OverAcc(ViewShape::Grouped, {"id", "g", "h", "v", "w"});
    v.columns = {
        GroupKey("g", "a.g"),                                                                                     // 0
        CalledAggregate("l", AggregateKind::StringAgg, "a.h", "text", "text", "a.h, ','::text ORDER BY a.id"),    // 1
        CalledAggregate("vs", AggregateKind::ArrayAgg, "a.v", "integer", "integer[]", "a.v ORDER BY a.id DESC"),  // 2
        Filtered(CalledAggregate("ws", AggregateKind::JsonbAgg, "a.w", "numeric", "jsonb", "a.w ORDER BY a.id"),
                 "(a.v > 0)"),  // 3
        CalledAggregate("o", AggregateKind::JsonbObjectAgg, "a.id", "integer", "jsonb",
                        "a.id, a.h ORDER BY a.id"),        // 4
        Expression("e", "COALESCE($1, '-'::text)", {1})};  // 5
    v.columns[5].type_sql = "text";
    Run(v,
        "SELECT g, string_agg(h, ',' ORDER BY id), array_agg(v ORDER BY id DESC), jsonb_agg(w ORDER BY id) FILTER "
        "(WHERE v > 0), jsonb_object_agg(id, h ORDER BY id), coalesce(string_agg(h, ',' ORDER BY id), '-') FROM "
        "{acc} GROUP BY g");
}

TEST_F(SingleTable, GlobalListsAndDeviations) {
    auto v = OverAcc(ViewShape::GlobalAggregate, {"id", "h", "v", "f"});
    v.columns = {
        CalledAggregate("l", AggregateKind::StringAgg, "a.h", "text", "text", "a.h, '|'::text ORDER BY a.h, a.id"),
        Aggregate("x", AggregateKind::BitXor, "a.v", "integer", "integer"),
        Aggregate("sd", AggregateKind::StddevPop, "a.v", "integer", "numeric"),
        Aggregate("sf", AggregateKind::StddevSamp, "a.f", "double precision", "double precision")};
    Run(v, "SELECT string_agg(h, '|' ORDER BY h, id), bit_xor(v), stddev_pop(v), stddev_samp(f) FROM {acc}");
}

// Expressions over aggregates and group keys, re-evaluated whenever their
// row is written: SELECT h, sum(v) AS s, sum(v) + 1, h || ':' || count(*),
// coalesce(max(v), -100), round(avg(w), 2) FROM acc GROUP BY h
TEST_F(SingleTable, ExpressionsOverAggregates) {
    auto v = OverAcc(ViewShape::Grouped, {"h", "v", "w"});
    v.columns = {GroupKey("h", "a.h"),                                                                  // 0
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),                        // 1
                 Expression("s1", "($1 + 1)", {1}),                                                     // 2
                 Expression("label", "(($1 || ':'::text) || $2)", {0, 6}),                              // 3
                 Expression("top", "COALESCE($1, '-100'::integer)", {7}),                               // 4
                 Expression("r", "round($1, 2)", {8}),                                                  // 5
                 Hidden(Aggregate("__ivm_agg_1__", AggregateKind::CountStar)),                          // 6
                 Hidden(Aggregate("__ivm_agg_2__", AggregateKind::Max, "a.v", "integer", "integer")),   // 7
                 Hidden(Aggregate("__ivm_agg_3__", AggregateKind::Avg, "a.w", "numeric", "numeric"))};  // 8
    Run(v,
        "SELECT h, sum(v), sum(v) + 1, h || ':' || count(*), coalesce(max(v), -100), round(avg(w), 2) FROM {acc} "
        "GROUP BY h");
}

// SELECT sum(v) * 2, count(*) - count(v), sum(w) / nullif(count(w), 0) FROM acc
TEST_F(SingleTable, ExpressionsOverAGlobalAggregate) {
    auto v = OverAcc(ViewShape::GlobalAggregate, {"v", "w"});
    v.columns = {Expression("twice", "($1 * 2)", {3}),                                                 // 0
                 Expression("nulls", "($1 - $2)", {4, 5}),                                             // 1
                 Expression("mean", "($1 / (NULLIF($2, 0))::numeric)", {6, 7}),                        // 2
                 Hidden(Aggregate("__ivm_agg_1__", AggregateKind::Sum, "a.v", "integer", "bigint")),   // 3
                 Hidden(Aggregate("__ivm_agg_2__", AggregateKind::CountStar)),                         // 4
                 Hidden(Aggregate("__ivm_agg_3__", AggregateKind::Count, "a.v", "integer")),           // 5
                 Hidden(Aggregate("__ivm_agg_4__", AggregateKind::Sum, "a.w", "numeric", "numeric")),  // 6
                 Hidden(Aggregate("__ivm_agg_5__", AggregateKind::Count, "a.w", "numeric"))};          // 7
    Run(v, "SELECT sum(v) * 2, count(*) - count(v), sum(w) / nullif(count(w), 0) FROM {acc}");
}

// SELECT DISTINCT g, h FROM acc (NULLs are one value each).
TEST_F(SingleTable, Distinct) {
    auto v = OverAcc(ViewShape::Distinct, {"g", "h"});
    v.columns = {GroupKey("g", "a.g"), GroupKey("h", "a.h")};
    Run(v, "SELECT DISTINCT g, h FROM {acc}");
}

TEST_F(SingleTable, DistinctOfExpressionWithWhere) {
    auto v = OverAcc(ViewShape::Distinct, {"g", "v", "w"});
    v.where_sql = "((a.g IS NOT NULL) AND (a.v > 0))";
    v.columns = {GroupKey("v", "a.v"), GroupKey("w2", "(a.w * (2)::numeric)")};
    Run(v, "SELECT DISTINCT v, w * 2 FROM {acc} WHERE g IS NOT NULL AND v > 0");
}

// A bag without the primary key: duplicates are physical rows, deleted k
// copies for k deleted rows.
TEST_F(SingleTable, BagWithoutKey) {
    auto v = OverAcc(ViewShape::Bag, {"g", "v"});
    v.where_sql = "(a.v > 0)";
    v.columns = {Plain("g", "a.g"), Plain("v", "a.v")};
    Run(v, "SELECT g, v FROM {acc} WHERE v > 0");
}

TEST_F(SingleTable, BagWithoutKeyOfNumericAndFloat) {
    auto v = OverAcc(ViewShape::Bag, {"w", "f"});
    v.columns = {Plain("w", "a.w"), Plain("f", "a.f")};
    Run(v, "SELECT w, f FROM {acc}");
}

// A bag selecting the primary key: rows deleted by key, updated in place.
TEST_F(SingleTable, BagWithRowKey) {
    auto v = OverAcc(ViewShape::Bag, {"id", "g", "h", "v"});
    v.columns = {Plain("id", "a.id", true), Plain("g", "a.g"), Plain("v2", "(a.v * 2)"), Plain("h", "a.h")};
    v.row_key_columns = {"id"};
    Run(v, "SELECT id, g, v * 2, h FROM {acc}");
}

TEST_F(SingleTable, BagWithRowKeyAndWhere) {
    auto v = OverAcc(ViewShape::Bag, {"id", "g", "w", "f"});
    v.where_sql = "(a.g = 1 OR a.g IS NULL)";
    v.columns = {Plain("w", "a.w"), Plain("id", "a.id", true), Plain("f", "a.f")};
    v.row_key_columns = {"id"};
    Run(v, "SELECT w, id, f FROM {acc} WHERE g = 1 OR g IS NULL");
}

TEST_F(SingleTable, BagOfRowKeyOnly) {
    auto v = OverAcc(ViewShape::Bag, {"id", "v"});
    v.where_sql = "(a.v >= 0)";
    v.columns = {Plain("id", "a.id", true)};
    v.row_key_columns = {"id"};
    Run(v, "SELECT id FROM {acc} WHERE v >= 0");
}

}  // namespace
}  // namespace ivmx::sqlb
