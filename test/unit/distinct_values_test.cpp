// DISTINCT aggregates: the delta first changes the counts of the group's
// values; the group's count/sum/avg(DISTINCT) change by the values that
// came (count 0 -> positive) or went (positive -> 0) only.
#include <gtest/gtest.h>

#include "ivmx/core/distinct_values.hpp"
#include "ivmx/core/group_filter.hpp"
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

OutputColumn Distinct(OutputColumn c) {
    c.aggregate->distinct = true;
    return c;
}

// SELECT bid, count(DISTINCT aid % 7) AS kinds, sum(DISTINCT abalance) AS s,
//        avg(abalance) AS a FROM accounts GROUP BY bid
ViewDefinition DistinctView() {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("bid", "t.bid", true));
    v.columns.push_back(Distinct(Agg("kinds", AggregateKind::Count, "(t.aid % 7)", "integer", "bigint")));
    v.columns.push_back(Distinct(Agg("s", AggregateKind::Sum, "t.abalance", "integer", "bigint")));
    v.columns.push_back(Agg("a", AggregateKind::Avg, "t.abalance", "integer", "numeric"));
    AddDistinctValues(v);
    return v;
}

}  // namespace

TEST(DistinctValues, OneValuesTablePerArgumentAndFilter) {
    ViewDefinition v = DistinctView();
    ASSERT_EQ(v.distinct_values.size(), 2u);
    EXPECT_EQ(v.distinct_values[0].table.name, "mv__ivm_values_1");
    EXPECT_EQ(v.distinct_values[1].argument_sql, "t.abalance");
    EXPECT_EQ(DistinctValuesOf(v, *v.columns[2].aggregate), 1u);
    // The same argument with another filter needs a table of its own.
    v.columns.push_back(Distinct(Agg("s2", AggregateKind::Sum, "t.abalance", "integer", "bigint")));
    v.columns.back().aggregate->filter_sql = "(t.abalance > 0)";
    AddDistinctValues(v);
    EXPECT_EQ(v.distinct_values.size(), 3u);
    EXPECT_EQ(Companions(v).size(), 3u);
}

TEST(DistinctValues, CountsChangeInTheGroupStatementAndVanishedValuesGoLast) {
    const ViewDefinition v = DistinctView();
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"__ivmx_new\"", "\"__ivmx_old\""));
    ASSERT_GE(plan.steps.size(), 3u);
    const std::string& upsert = plan.steps[0].sql;
    // Netted per value, NULLs left out, rows locked in key order, the
    // count now and the change just added returned.
    EXPECT_EQ(upsert.rfind("WITH __ivm_vu1 AS (INSERT INTO \"public\".\"mv__ivm_values_1\"", 0), 0u);
    EXPECT_TRUE(Contains(upsert, "__ivm_vu2 AS (INSERT INTO \"public\".\"mv__ivm_values_2\""));
    EXPECT_TRUE(Contains(upsert, "IS NOT NULL GROUP BY"));
    EXPECT_TRUE(Contains(upsert, "HAVING sum(__ivm_sign) <> 0"));
    EXPECT_TRUE(Contains(upsert,
                         "ON CONFLICT (\"bid\", \"__ivm_value__\") DO UPDATE SET \"__ivm_count__\" = "
                         "__ivm_v.\"__ivm_count__\" + excluded.\"__ivm_count__\", \"__ivm_change__\" = "
                         "excluded.\"__ivm_change__\" RETURNING"));
    // The group upsert reads the values gained and lost from what it wrote.
    EXPECT_TRUE(Contains(upsert, "INSERT INTO \"public\".\"mv\""));
    EXPECT_TRUE(Contains(upsert,
                         "FROM __ivm_vu1 AS __ivm_r WHERE (__ivm_r.\"__ivm_count__\" > 0) <> "
                         "(__ivm_r.\"__ivm_count__\" - __ivm_r.\"__ivm_change__\" > 0)"));
    EXPECT_TRUE(Contains(upsert, "CAST(COALESCE(sum(\"__ivm_dd_1__\"), 0) AS bigint) AS \"kinds\""));
    EXPECT_TRUE(Contains(upsert, "sum(\"__ivm_dd_2__\" * \"__ivm_dv_2__\")"));
    // A plain aggregate still reads the delta rows.
    EXPECT_TRUE(Contains(upsert, "t.abalance AS \"__ivm_arg_4__\""));
    EXPECT_FALSE(Contains(upsert, "\"__ivm_arg_2__\""));
    const std::string& last = plan.steps.back().sql;
    EXPECT_EQ(last, "DELETE FROM \"public\".\"mv__ivm_values_2\" WHERE \"__ivm_count__\" = 0");
}

TEST(DistinctValues, InsertsDeleteNoValues) {
    const ViewDefinition v = DistinctView();
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"__ivmx_new\"", ""));
    for (const auto& step : plan.steps) EXPECT_FALSE(Contains(step.sql, "DELETE FROM")) << step.sql;
}

TEST(DistinctValues, PopulateAndRefreshCountDistinctValues) {
    const ViewDefinition v = DistinctView();
    const std::string populate = PopulateQuery(v);
    EXPECT_TRUE(Contains(populate, "count(DISTINCT (t.aid % 7)) AS \"kinds\""));
    EXPECT_TRUE(Contains(populate, "count(DISTINCT t.abalance) AS \"__ivm_count_3__\""));
    const std::vector<std::string> create = CreateCompanionsSql(v);
    ASSERT_EQ(create.size(), 6u);
    EXPECT_TRUE(Contains(create[0],
                         "CREATE TABLE \"public\".\"mv__ivm_values_1\" AS SELECT t.bid AS \"bid\", "
                         "(t.aid % 7) AS \"__ivm_value__\", count(*) AS \"__ivm_count__\""));
    EXPECT_TRUE(Contains(create[0], "WHERE ((t.aid % 7)) IS NOT NULL GROUP BY t.bid, (t.aid % 7)"));
    EXPECT_TRUE(Contains(create[1], "NULLS NOT DISTINCT"));
    EXPECT_TRUE(Contains(create[2], "WHERE \"__ivm_count__\" = 0"));
    const std::vector<std::string> refresh = RefreshStatements(v, true);
    EXPECT_EQ(refresh[0], "TRUNCATE \"public\".\"mv__ivm_values_1\"");
    EXPECT_EQ(refresh.back().rfind("INSERT INTO \"public\".\"mv\"", 0), 0u);
}

TEST(DistinctValues, WithoutGroupByTheChangesJoinTheOneRow) {
    auto v = BaseView(ViewShape::GlobalAggregate);
    v.columns.push_back(Distinct(Agg("kinds", AggregateKind::Count, "t.bid", "integer", "bigint")));
    AddDistinctValues(v);
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"__ivmx_new\"", "\"__ivmx_old\""));
    EXPECT_TRUE(Contains(plan.steps[0].sql, "UPDATE \"public\".\"mv\""));
    EXPECT_TRUE(Contains(plan.steps[0].sql, "FROM __ivm_vu1 AS __ivm_r"));
}
