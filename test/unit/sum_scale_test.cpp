// The display scale of sums of numeric: PostgreSQL's sum has the largest
// scale of its inputs, which a running sum keeps after the inputs that had
// it are deleted. Such a sum is recomputed when its group may have lost
// them; a numeric(p,s) argument cannot drift.
#include <gtest/gtest.h>

#include "ivmx/core/aggregate_rules.hpp"
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

// SELECT k, sum(v) AS s, avg(v) AS a FROM t GROUP BY k, v numeric.
ViewDefinition NumericSums(ViewShape shape = ViewShape::Grouped, bool scale_fixed = false) {
    auto v = BaseView(shape);
    if (shape == ViewShape::Grouped) v.columns.push_back(Key("k", "t.k"));
    v.columns.push_back(Agg("s", AggregateKind::Sum, "t.v", "numeric", "numeric"));
    v.columns.push_back(Agg("a", AggregateKind::Avg, "t.v", "numeric", "numeric"));
    for (auto& c : v.columns)
        if (c.aggregate) c.aggregate->scale_fixed = scale_fixed;
    return v;
}

}  // namespace

TEST(SumScale, OnlyNumericSumsWhoseTypeLeavesTheScaleOpenAreTracked) {
    Aggregate sum = ivmx::test::MakeAggregate(AggregateKind::Sum, "t.v", "numeric", "numeric");
    EXPECT_TRUE(TracksScale(sum));
    sum.scale_fixed = true;
    EXPECT_FALSE(TracksScale(sum));
    EXPECT_FALSE(TracksScale(ivmx::test::MakeAggregate(AggregateKind::Sum, "t.x", "integer", "bigint")));
    EXPECT_FALSE(TracksScale(ivmx::test::MakeAggregate(AggregateKind::Max, "t.v", "numeric", "numeric")));
    EXPECT_TRUE(TracksScale(ivmx::test::MakeAggregate(AggregateKind::Avg, "t.v", "numeric", "numeric")));
    // Tracked sums keep a lost flag in grouped views.
    const auto names = TableColumns(NumericSums());
    EXPECT_NE(std::find(names.begin(), names.end(), "__ivm_lost_2__"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "__ivm_lost_3__"), names.end());
    const auto fixed = TableColumns(NumericSums(ViewShape::Grouped, true));
    EXPECT_EQ(std::find(fixed.begin(), fixed.end(), "__ivm_lost_2__"), fixed.end());
}

TEST(SumScale, TheDeltaCarriesTheLargestScaleInsertedAndDeleted) {
    const ViewDefinition v = NumericSums();
    const std::string sql = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", "\"o\"")).steps[0].sql;
    EXPECT_TRUE(Contains(sql, "max(scale(__ivm_arg_2__)) FILTER (WHERE __ivm_sign > 0) AS \"__ivm_ins_2__\""));
    EXPECT_TRUE(Contains(sql, "max(scale(__ivm_arg_2__)) FILTER (WHERE __ivm_sign < 0) AS \"__ivm_del_2__\""));
    // Lost only when a positive scale was deleted and no larger one inserted,
    // or when a larger scale came with inputs that cancel (the delta's sum
    // of 0 is NULL then, and carries no scale).
    EXPECT_TRUE(Contains(sql,
                         "((__ivm_d.\"__ivm_del_2__\" IS NOT NULL AND __ivm_d.\"__ivm_del_2__\" > 0 AND "
                         "(__ivm_d.\"__ivm_ins_2__\" IS NULL OR __ivm_d.\"__ivm_ins_2__\" < "
                         "__ivm_d.\"__ivm_del_2__\")) OR (__ivm_d.\"__ivm_count_2__\" = 0 AND "));
    EXPECT_TRUE(Contains(sql,
                         "COALESCE(__ivm_d.\"__ivm_ins_2__\" > __ivm_d.\"__ivm_del_2__\", false))) AS "
                         "\"__ivm_lost_2__\""));
    // An existing group: the sum is NULL (and recomputed) unless the deleted
    // scale is below the stored sum's.
    EXPECT_TRUE(Contains(sql,
                         "WHEN (excluded.\"__ivm_lost_2__\" IS TRUE AND NOT COALESCE(scale(excluded.\"s\") < "
                         "scale(__ivm_mv.\"s\"), false)) THEN NULL"));
    EXPECT_TRUE(Contains(sql, "scale(excluded.\"__ivm_sum_3__\") < scale(__ivm_mv.\"__ivm_sum_3__\")"));
    EXPECT_TRUE(Contains(sql, "__ivm_mv.\"__ivm_lost_2__\" IS TRUE"));
}

TEST(SumScale, LostScalesAreRecomputedWithTheSum) {
    const ViewDefinition v = NumericSums();
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "", "\"o\""));
    ASSERT_EQ(plan.steps.size(), 3u);
    EXPECT_TRUE(
        Contains(plan.steps[1].sql, "SET (\"s\", \"a\", \"__ivm_sum_3__\") = (SELECT sum(t.v), avg(t.v), sum(t.v)"));
    EXPECT_TRUE(Contains(plan.steps[1].sql, "\"__ivm_lost_2__\" = NULL"));
}

TEST(SumScale, GlobalSumsCarryTheFlagInTheirDeltaRow) {
    const ViewDefinition v = NumericSums(ViewShape::GlobalAggregate);
    const std::string sql = BuildMaintenancePlan(v, RelationDelta(v, 1, "", "\"o\"")).steps[0].sql;
    EXPECT_TRUE(Contains(sql, "AS \"__ivm_lost_1__\""));
    EXPECT_TRUE(Contains(sql, "__ivm_e.\"__ivm_lost_1__\" IS TRUE"));
}

TEST(SumScale, VerifyComparesNumericColumnsByTheirText) {
    const std::string sql = VerifySql(NumericSums(), "SELECT 1");
    EXPECT_TRUE(Contains(sql, "CAST(__ivm_s.\"s\" AS text)"));
    EXPECT_TRUE(Contains(sql, "CAST(__ivm_q.\"a\" AS text)"));
    EXPECT_FALSE(Contains(sql, "CAST(__ivm_s.\"k\" AS text)"));
}
