// bool_and, bool_or and every: kept as the number of non-null and of true
// inputs per group, so that deletes never need a recompute.
#include <gtest/gtest.h>

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/aggregate_sql.hpp"
#include "ivmx/core/delta_query.hpp"
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

// SELECT k, bool_and(t.ok) AS all_ok, bool_or(t.ok) AS any_ok FROM t GROUP BY k
ViewDefinition BoolView() {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));
    v.columns.push_back(Agg("all_ok", AggregateKind::BoolAnd, "t.ok", "boolean", "boolean"));
    v.columns.push_back(Agg("any_ok", AggregateKind::BoolOr, "t.ok", "boolean", "boolean"));
    return v;
}

}  // namespace

TEST(BoolAggregates, NamesAndState) {
    EXPECT_EQ(AggregateKindByName("bool_and", 1), AggregateKind::BoolAnd);
    EXPECT_EQ(AggregateKindByName("every", 1), AggregateKind::BoolAnd);
    EXPECT_EQ(AggregateKindByName("bool_or", 1), AggregateKind::BoolOr);
    const auto names = TableColumns(BoolView());
    for (const char* name : {"__ivm_count_2__", "__ivm_true_2__", "__ivm_count_3__", "__ivm_true_3__"})
        EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    EXPECT_FALSE(NeedsRecompute(BoolView()));
}

TEST(BoolAggregates, PopulateCountsTrueInputs) {
    const std::string sql = PopulateQuery(BoolView());
    EXPECT_TRUE(Contains(sql, "bool_and(t.ok) AS \"all_ok\""));
    EXPECT_TRUE(Contains(sql, "count(CASE WHEN t.ok THEN 1 END) AS \"__ivm_true_2__\""));
}

TEST(BoolAggregates, ValuesFollowFromTheCounts) {
    const ViewDefinition v = BoolView();
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", "\"o\""));
    ASSERT_EQ(plan.steps.size(), 2u);  // upsert, delete of gone groups: no recompute
    const std::string& sql = plan.steps[0].sql;
    EXPECT_TRUE(Contains(sql, "sum(__ivm_sign) FILTER (WHERE __ivm_arg_2__), 0) AS bigint) AS \"__ivm_true_2__\""));
    EXPECT_TRUE(Contains(sql,
                         "\"all_ok\" = CASE WHEN (__ivm_mv.\"__ivm_count_2__\" + excluded.\"__ivm_count_2__\") = 0 "
                         "THEN NULL ELSE (__ivm_mv.\"__ivm_true_2__\" + excluded.\"__ivm_true_2__\") = "
                         "(__ivm_mv.\"__ivm_count_2__\" + excluded.\"__ivm_count_2__\") END"));
    EXPECT_TRUE(Contains(sql, "THEN NULL ELSE (__ivm_mv.\"__ivm_true_3__\" + excluded.\"__ivm_true_3__\") > 0 END"));
}

namespace {

// SELECT k, bit_and(t.i) AS a, bit_or(t.i) FILTER (WHERE t.on_) AS o FROM t GROUP BY k
ViewDefinition BitView() {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));
    v.columns.push_back(Agg("a", AggregateKind::BitAnd, "t.i", "integer", "integer"));
    v.columns.push_back(Agg("o", AggregateKind::BitOr, "t.i", "integer", "integer"));
    v.columns.back().aggregate->filter_sql = "t.on_";
    return v;
}

}  // namespace

TEST(BitAggregates, NamesAndState) {
    EXPECT_EQ(AggregateKindByName("bit_and", 1), AggregateKind::BitAnd);
    EXPECT_EQ(AggregateKindByName("bit_or", 1), AggregateKind::BitOr);
    EXPECT_EQ(AggregateFunctionName(AggregateKind::BitAnd), "bit_and");
    const auto names = TableColumns(BitView());
    for (const char* name : {"__ivm_count_2__", "__ivm_lost_2__", "__ivm_count_3__", "__ivm_lost_3__"})
        EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    EXPECT_TRUE(NeedsRecompute(BitView()));
}

TEST(BitAggregates, InsertsFold) {
    const ViewDefinition v = BitView();
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", ""));
    ASSERT_EQ(plan.steps.size(), 1u);  // insert only: no recompute
    const std::string& sql = plan.steps[0].sql;
    EXPECT_TRUE(Contains(sql, "bit_and(__ivm_arg_2__) FILTER (WHERE __ivm_sign > 0) AS \"__ivm_ins_2__\""));
    EXPECT_TRUE(Contains(sql, "CASE WHEN (t.on_) THEN t.i END"));
    EXPECT_TRUE(Contains(sql, "__ivm_mv.\"a\" & excluded.\"a\""));
    EXPECT_TRUE(Contains(sql, "__ivm_mv.\"o\" | excluded.\"o\""));
}

TEST(BitAggregates, DeletesRecompute) {
    const ViewDefinition v = BitView();
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", "\"o\""));
    ASSERT_EQ(plan.steps.size(), 3u);  // upsert, recompute, delete of gone groups
    // Any deleted non-null input loses the fold.
    EXPECT_TRUE(Contains(plan.steps[0].sql, "(__ivm_d.\"__ivm_del_2__\" IS NOT NULL) AS \"__ivm_lost_2__\""));
    EXPECT_TRUE(Contains(plan.steps[1].sql, "bit_and(t.i)"));
    EXPECT_TRUE(Contains(plan.steps[1].sql, "bit_or(t.i) FILTER (WHERE t.on_)"));
}

namespace {

// SELECT k, var_pop(t.i) AS vp, var_samp(t.i) FILTER (WHERE t.on_) AS vs FROM t GROUP BY k
ViewDefinition VarView() {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));
    v.columns.push_back(Agg("vp", AggregateKind::VarPop, "t.i", "integer", "numeric"));
    v.columns.push_back(Agg("vs", AggregateKind::VarSamp, "t.i", "integer", "numeric"));
    v.columns.back().aggregate->filter_sql = "t.on_";
    return v;
}

}  // namespace

TEST(VarianceAggregates, NamesAndState) {
    EXPECT_EQ(AggregateKindByName("var_pop", 1), AggregateKind::VarPop);
    EXPECT_EQ(AggregateKindByName("var_samp", 1), AggregateKind::VarSamp);
    EXPECT_EQ(AggregateKindByName("variance", 1), AggregateKind::VarSamp);
    const auto names = TableColumns(VarView());
    for (const char* name : {"__ivm_count_2__", "__ivm_sum_2__", "__ivm_sq_2__", "__ivm_count_3__", "__ivm_sq_3__"})
        EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    EXPECT_FALSE(NeedsRecompute(VarView()));
}

TEST(VarianceAggregates, PopulateSumsSquares) {
    const std::string sql = PopulateQuery(VarView());
    EXPECT_TRUE(Contains(sql, "var_pop(t.i) AS \"vp\""));
    EXPECT_TRUE(
        Contains(sql, "sum(CAST(t.i AS numeric) * CAST(t.i AS numeric)) FILTER (WHERE t.on_) AS \"__ivm_sq_3__\""));
}

TEST(VarianceAggregates, ValueAsPostgresComputesIt) {
    const Aggregate agg = *VarView().columns[2].aggregate;
    EXPECT_EQ(MomentsValue(agg, "n", "s", "q"),
              "CASE WHEN n <= 1 THEN NULL WHEN (CAST(n AS numeric) * q - s * s) <= 0 THEN CAST(0 AS numeric) "
              "ELSE (CAST(n AS numeric) * q - s * s) / (CAST(n AS numeric) * CAST(n - 1 AS numeric)) END");
    const ViewDefinition v = VarView();
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", "\"o\""));
    ASSERT_EQ(plan.steps.size(), 2u);  // upsert, delete of gone groups: no recompute
    EXPECT_TRUE(Contains(plan.steps[0].sql, "\"__ivm_sq_2__\" = CASE WHEN __ivm_mv.\"__ivm_sq_2__\" IS NULL"));
}

TEST(VarianceAggregates, NumericDeletesRecompute) {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));
    v.columns.push_back(Agg("vp", AggregateKind::VarPop, "t.x", "numeric", "numeric"));
    EXPECT_TRUE(NeedsRecompute(v));
    const auto names = TableColumns(v);
    EXPECT_NE(std::find(names.begin(), names.end(), "__ivm_lost_2__"), names.end());
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", "\"o\""));
    ASSERT_EQ(plan.steps.size(), 3u);  // upsert, recompute, delete of gone groups
    EXPECT_TRUE(Contains(plan.steps[0].sql, "(__ivm_d.\"__ivm_del_2__\" IS NOT NULL) AS \"__ivm_lost_2__\""));
    EXPECT_TRUE(Contains(plan.steps[1].sql, "var_pop(t.x)"));
    EXPECT_TRUE(Contains(plan.steps[1].sql, "sum(CAST(t.x AS numeric) * CAST(t.x AS numeric))"));
}
