// FILTER (WHERE ...) on aggregates: the condition selects the delta rows an
// aggregate accumulates, and the rows its recompute reads.
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

OutputColumn Filtered(OutputColumn c, const std::string& condition) {
    c.aggregate->filter_sql = condition;
    return c;
}

// SELECT k, count(*) FILTER (WHERE t.x > 0) AS pos, sum(x) FILTER (WHERE t.ok) AS s,
//        avg(x) FILTER (WHERE t.x > 0) AS a, max(x) FILTER (WHERE t.ok) AS m FROM t GROUP BY k
ViewDefinition FilterView() {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));
    v.columns.push_back(Filtered(Agg("pos", AggregateKind::CountStar), "(t.x > 0)"));
    v.columns.push_back(Filtered(Agg("s", AggregateKind::Sum, "t.x", "integer", "bigint"), "t.ok"));
    v.columns.push_back(Filtered(Agg("a", AggregateKind::Avg, "t.x", "integer", "numeric"), "(t.x > 0)"));
    v.columns.push_back(Filtered(Agg("m", AggregateKind::Max, "t.x", "integer", "integer"), "t.ok"));
    return v;
}

}  // namespace

TEST(AggregateFilter, DeltaRowsOutsideTheFilterAccumulateNothing) {
    const ViewDefinition v = FilterView();
    const std::string sql = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"__ivmx_new\"", "")).steps[0].sql;
    // count(*) FILTER counts the rows whose filtered argument is not NULL.
    EXPECT_TRUE(Contains(sql, "CASE WHEN ((t.x > 0)) THEN 1 END AS \"__ivm_arg_2__\""));
    EXPECT_TRUE(Contains(sql, "FILTER (WHERE __ivm_arg_2__ IS NOT NULL)"));
    EXPECT_TRUE(Contains(sql, "CASE WHEN (t.ok) THEN t.x END AS \"__ivm_arg_3__\""));
    EXPECT_TRUE(Contains(sql, "CASE WHEN (t.ok) THEN t.x END AS \"__ivm_arg_5__\""));
    // The multiplicity of the group counts every row, filtered or not.
    EXPECT_TRUE(Contains(sql, "CAST(COALESCE(sum(__ivm_sign), 0) AS bigint) AS \"__ivm_count__\""));
}

TEST(AggregateFilter, PopulateAndRecomputeApplyTheFilter) {
    const ViewDefinition v = FilterView();
    const std::string populate = PopulateQuery(v);
    EXPECT_TRUE(Contains(populate, "count(*) FILTER (WHERE (t.x > 0)) AS \"pos\""));
    EXPECT_TRUE(Contains(populate, "count(t.x) FILTER (WHERE t.ok) AS \"__ivm_count_3__\""));
    EXPECT_TRUE(Contains(populate, "sum(t.x) FILTER (WHERE (t.x > 0)) AS \"__ivm_sum_4__\""));
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "", "\"__ivmx_old\""));
    ASSERT_EQ(plan.steps.size(), 3u);
    EXPECT_TRUE(Contains(plan.steps[1].sql, "(SELECT max(t.x) FILTER (WHERE t.ok) FROM"));
}

TEST(AggregateFilter, AFilterMakesAnotherAggregate) {
    Aggregate a = ivmx::test::MakeAggregate(AggregateKind::Sum, "t.x", "integer", "bigint");
    Aggregate b = a;
    b.filter_sql = "t.ok";
    EXPECT_FALSE(SameAggregate(a, b));
    a.filter_sql = "t.ok";
    EXPECT_TRUE(SameAggregate(a, b));
}
