// Expressions over aggregates in the select list: their operands are
// columns of the IMMV (hidden when not selected), and every statement that
// writes a group row re-evaluates them over the row's new state.
#include <gtest/gtest.h>

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "test_fixtures.hpp"

using namespace ivmx::core;
using ivmx::test::Agg;
using ivmx::test::BaseView;
using ivmx::test::Key;

namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

OutputColumn Expression(const std::string& name, const std::string& sql, std::vector<size_t> operands) {
    OutputColumn c;
    c.name = name;
    c.role = ColumnRole::AggregateExpression;
    c.expression_sql = sql;
    c.operands = std::move(operands);
    return c;
}

OutputColumn Hidden(OutputColumn c) {
    c.hidden = true;
    return c;
}

// SELECT k, sum(x) AS s, sum(x) + 1 AS s1, k || ':' || count(*) AS label,
//        coalesce(max(x), 0) AS top FROM t GROUP BY k
ViewDefinition ExpressionView() {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));                                                                // 0
    v.columns.push_back(Agg("s", AggregateKind::Sum, "t.x", "integer", "bigint"));                       // 1
    v.columns.push_back(Expression("s1", "($1 + 1)", {1}));                                              // 2
    v.columns.push_back(Expression("label", "(($1 || ':'::text) || $2)", {0, 4}));                       // 3
    v.columns.push_back(Hidden(Agg("__ivm_agg_1__", AggregateKind::CountStar)));                         // 4
    v.columns.push_back(Expression("top", "COALESCE($1, 0)", {6}));                                      // 5
    v.columns.push_back(Hidden(Agg("__ivm_agg_2__", AggregateKind::Max, "t.x", "integer", "integer")));  // 6
    // Visible columns first, then hidden ones, as the analyzer orders them.
    return v;
}

Delta Inserted(const ViewDefinition& v) {
    return RelationDelta(v, 1, "\"__ivmx_new\"", "");
}
Delta Deleted(const ViewDefinition& v) {
    return RelationDelta(v, 1, "", "\"__ivmx_old\"");
}

}  // namespace

TEST(AggregateExpression, PlaceholdersOutsideLiteralsAndQuotedNamesAreExpanded) {
    OutputColumn c = Expression("e", "($1 || '$1' || \"$2\" || E'\\'$1' || $2)", {7, 9});
    EXPECT_EQ(ExpandExpression(c, [](size_t j) { return "v" + std::to_string(j); }),
              "((v7) || '$1' || \"$2\" || E'\\'$1' || (v9))");
    OutputColumn bad = Expression("e", "$3", {1});
    EXPECT_THROW(ExpandExpression(bad, [](size_t) { return std::string("x"); }), Error);
}

TEST(AggregateExpression, HiddenOperandsFollowTheVisibleColumns) {
    const auto names = TableColumns(ExpressionView());
    const std::vector<std::string> head{"k", "s", "s1", "label", "top", "__ivm_agg_1__", "__ivm_agg_2__"};
    ASSERT_GE(names.size(), head.size());
    EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + head.size()), head);
    EXPECT_EQ(VisibleColumns(ExpressionView()), std::vector<std::string>({"k", "s", "s1", "label", "top"}));
}

TEST(AggregateExpression, PopulateEvaluatesTheExpressionOverItsAggregates) {
    const std::string sql = PopulateQuery(ExpressionView());
    EXPECT_TRUE(Contains(sql, "((sum(t.x)) + 1) AS \"s1\""));
    EXPECT_TRUE(Contains(sql, "(((t.k) || ':'::text) || (count(*))) AS \"label\""));
    EXPECT_TRUE(Contains(sql, "COALESCE((max(t.x)), 0) AS \"top\""));
    EXPECT_TRUE(Contains(sql, "GROUP BY t.k"));
}

TEST(AggregateExpression, UpsertSubstitutesTheNewStateIntoTheExpression) {
    const ViewDefinition v = ExpressionView();
    const MaintenancePlan plan = BuildMaintenancePlan(v, Inserted(v));
    ASSERT_EQ(plan.steps.size(), 2u);
    const std::string& sql = plan.steps[0].sql;
    // ON CONFLICT ... SET sees the old values: the expression reads the new
    // value of each operand, not the stored one.
    EXPECT_TRUE(Contains(sql,
                         "\"s1\" = CASE WHEN (__ivm_mv.\"__ivm_count__\" + excluded.\"__ivm_count__\") = 0 THEN NULL "
                         "ELSE ((CASE WHEN (__ivm_mv.\"__ivm_count_2__\" + excluded.\"__ivm_count_2__\") = 0"));
    EXPECT_TRUE(Contains(sql,
                         "ELSE (((__ivm_mv.\"k\") || ':'::text) || (__ivm_mv.\"__ivm_agg_1__\" + "
                         "excluded.\"__ivm_agg_1__\")) END"));
    // Never over a delta: a new group is inserted with its expressions
    // unevaluated, and reported.
    EXPECT_TRUE(Contains(sql, "NULL AS \"label\""));
    EXPECT_TRUE(Contains(sql, "true AS \"__ivm_unevaluated__\""));
    EXPECT_TRUE(Contains(sql, "\"__ivm_unevaluated__\" = NULL"));
    EXPECT_TRUE(plan.steps[0].reports_rows);
    EXPECT_TRUE(Contains(sql, "__ivm_mv.\"__ivm_unevaluated__\" IS TRUE) AS stale"));
    // Inserts cannot make a max stale: no guard but the group's end.
    EXPECT_TRUE(Contains(sql,
                         "\"top\" = CASE WHEN (__ivm_mv.\"__ivm_count__\" + excluded.\"__ivm_count__\") = 0 "
                         "THEN NULL ELSE COALESCE("));
    // The reported rows' expressions are evaluated over their state.
    const MaintenanceStep& evaluate = plan.steps[1];
    EXPECT_EQ(evaluate.input, StepInput::TidsToRecompute);
    EXPECT_TRUE(evaluate.reports_rows);
    EXPECT_TRUE(
        Contains(evaluate.sql, "\"label\" = (((__ivm_mv.\"k\") || ':'::text) || (__ivm_mv.\"__ivm_agg_1__\"))"));
    EXPECT_TRUE(Contains(evaluate.sql, "WHERE __ivm_mv.ctid = ANY ($1) AND __ivm_mv.\"__ivm_count__\" > 0"));
}

TEST(AggregateExpression, DeletesGuardAndRecomputeExpressionsOverExtremes) {
    const ViewDefinition v = ExpressionView();
    const MaintenancePlan plan = BuildMaintenancePlan(v, Deleted(v));
    ASSERT_EQ(plan.steps.size(), 4u);
    // While the max may be stale, the expression over it is NULL...
    EXPECT_TRUE(Contains(plan.steps[0].sql, "THEN NULL ELSE COALESCE(("));
    EXPECT_TRUE(Contains(plan.steps[1].sql, "\"top\" = CASE WHEN (__ivm_mv.\"__ivm_agg_2__\" IS NULL AND"));
    // ...and the recompute sets both, the expression over the recomputed max
    // and the stored values of the other operands.
    const std::string& recompute = plan.steps[2].sql;
    EXPECT_EQ(plan.steps[2].input, StepInput::TidsToRecompute);
    EXPECT_TRUE(
        Contains(recompute, "SET (\"__ivm_agg_2__\", \"top\") = (SELECT max(t.x), COALESCE((max(t.x)), 0) FROM"));
    // An expression over linear aggregates only is not recomputed.
    EXPECT_FALSE(Contains(recompute, "\"s1\""));
    EXPECT_EQ(plan.steps[3].input, StepInput::TidsToDelete);
}

TEST(AggregateExpression, RecomputeAsOfABatchEndEvaluatesOverTheRecomputedValues) {
    const ViewDefinition v = ExpressionView();
    Delta delta = Deleted(v);
    delta.base_as_of = {"(SELECT * FROM \"public\".\"accounts\") AS __ivm_b"};
    const std::string recompute = BuildMaintenancePlan(v, delta).steps[2].sql;
    EXPECT_TRUE(
        Contains(recompute, "SET (\"__ivm_agg_2__\", \"top\") = (__ivm_r.__ivm_v0, COALESCE((__ivm_r.__ivm_v0), 0))"));
}

TEST(AggregateExpression, GlobalAggregateEvaluatesOverItsOnlyRow) {
    auto v = BaseView(ViewShape::GlobalAggregate);
    v.columns.push_back(Expression("ratio", "($1 / NULLIF($2, 0))", {1, 2}));
    v.columns.push_back(Hidden(Agg("__ivm_agg_1__", AggregateKind::Sum, "t.x", "integer", "bigint")));
    v.columns.push_back(Hidden(Agg("__ivm_agg_2__", AggregateKind::CountStar)));
    const std::string sql = BuildMaintenancePlan(v, Inserted(v)).steps[0].sql;
    EXPECT_EQ(sql.rfind("UPDATE \"public\".\"mv\" AS __ivm_mv SET", 0), 0u);
    EXPECT_TRUE(Contains(sql, "\"ratio\" = ((CASE WHEN"));
    EXPECT_TRUE(Contains(sql, "/ NULLIF((__ivm_mv.\"__ivm_agg_2__\" + __ivm_e.\"__ivm_agg_2__\"), 0))"));
    EXPECT_EQ(PopulateQuery(v).find("GROUP BY"), std::string::npos);
}

TEST(AggregateExpression, IdenticalAggregatesAreOneColumn) {
    Aggregate a = ivmx::test::MakeAggregate(AggregateKind::Sum, "t.x", "integer", "bigint");
    Aggregate b = a;
    EXPECT_TRUE(SameAggregate(a, b));
    b.argument_sql = "t.y";
    EXPECT_FALSE(SameAggregate(a, b));
    b = a;
    b.kind = AggregateKind::Avg;
    EXPECT_FALSE(SameAggregate(a, b));
}
