// GROUPING SETS, ROLLUP and CUBE in the core: the view is grouped over its
// keys and the grouping-set number; the groups of empty sets () are kept at
// multiplicity 0 and exist over no input row.
#include <gtest/gtest.h>

#include "ivmx/core/delta_query.hpp"
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

// SELECT bid, count(*), min(abalance) FROM accounts GROUP BY ROLLUP (bid),
// as analysed: set 0 is (), set 1 is (bid).
ViewDefinition Rollup() {
    auto v = BaseView(ViewShape::Grouped);
    ConstantRelation sets;
    sets.function_sql = "ROWS FROM (generate_series(0, 1))";
    sets.alias = "grouping_sets";
    sets.columns = {{"set_number", "integer"}};
    v.constants.push_back(sets);
    v.columns.push_back(Key("bid", "CASE WHEN (grouping_sets.set_number = 1) THEN t.bid ELSE NULL::integer END"));
    v.columns.push_back(Agg("count", AggregateKind::CountStar));
    v.columns.push_back(Agg("min", AggregateKind::Min, "t.abalance", "integer", "integer"));
    OutputColumn set = Key(GroupingSetColumn(), "grouping_sets.set_number", true);
    set.hidden = true;
    v.columns.push_back(set);
    EmptyGroupingSet total;
    total.set = 0;
    total.key_values = {"NULL::integer", "", "", "0"};
    v.empty_grouping_sets.push_back(total);
    return v;
}

MaintenanceStep StepOf(const MaintenancePlan& plan, StepInput input) {
    for (const auto& step : plan.steps)
        if (step.input == input) return step;
    ADD_FAILURE() << "no such step";
    return {};
}

}  // namespace

TEST(GroupingSets, KeptGroupConditionNamesTheEmptySets) {
    EXPECT_EQ(KeptGroupCondition(Rollup(), "m"), "m.\"__ivm_gset__\" IN (0)");
    auto v = Rollup();
    v.empty_grouping_sets.push_back(v.empty_grouping_sets[0]);
    v.empty_grouping_sets[1].set = 3;
    EXPECT_EQ(KeptGroupCondition(v, "m"), "m.\"__ivm_gset__\" IN (0, 3)");
    EXPECT_EQ(KeptGroupCondition(ivmx::test::BranchTotals(), "m"), "");
}

TEST(GroupingSets, GroupingSetKeyIsTheHiddenSetColumn) {
    EXPECT_EQ(GroupingSetKey(Rollup()).expression_sql, "grouping_sets.set_number");
    EXPECT_THROW(GroupingSetKey(ivmx::test::BranchTotals()), Error);
}

TEST(GroupingSets, PopulateAddsTheEmptySetsRowOverNoInput) {
    const std::string sql = PopulateQuery(Rollup());
    EXPECT_TRUE(Contains(sql, "ROWS FROM (generate_series(0, 1)) AS grouping_sets"));
    EXPECT_TRUE(Contains(sql,
                         "GROUP BY CASE WHEN (grouping_sets.set_number = 1) THEN t.bid ELSE NULL::integer END, "
                         "grouping_sets.set_number"));
    // The group of () over no row: the keys' values there, the aggregates
    // over nothing, only when the grouped query has no row for it.
    EXPECT_TRUE(Contains(sql, " UNION ALL SELECT NULL::integer AS \"bid\", count(*) AS \"count\""));
    EXPECT_TRUE(Contains(sql, "0 AS \"__ivm_gset__\""));
    EXPECT_TRUE(Contains(sql, "WHERE grouping_sets.set_number = 0 HAVING count(*) = 0"));
    EXPECT_FALSE(Contains(PopulateQuery(ivmx::test::BranchTotals()), "UNION ALL"));
}

TEST(GroupingSets, EmptySetGroupsAreNeverGone) {
    const auto v = Rollup();
    const auto plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "", "\"__ivmx_old\""));
    const std::string upsert = plan.steps[0].sql;
    // Reported gone only outside the empty sets; reported stale there even
    // at multiplicity 0 (a min over no row is recomputed to NULL).
    EXPECT_TRUE(Contains(upsert, "(__ivm_mv.\"__ivm_count__\" = 0 AND NOT __ivm_mv.\"__ivm_gset__\" IN (0)) AS gone"));
    EXPECT_TRUE(Contains(upsert, "(__ivm_mv.\"__ivm_count__\" <> 0 OR __ivm_mv.\"__ivm_gset__\" IN (0)) AND ("));
    const MaintenanceStep deletion = StepOf(plan, StepInput::TidsToDelete);
    EXPECT_TRUE(Contains(deletion.sql, "AND NOT __ivm_mv.\"__ivm_gset__\" IN (0)"));
}

TEST(GroupingSets, ViewsWithoutEmptySetsKeepTheirStatements) {
    auto v = Rollup();
    v.empty_grouping_sets.clear();
    const auto plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "", "\"__ivmx_old\""));
    EXPECT_FALSE(Contains(plan.steps[0].sql, "__ivm_gset__\" IN"));
    EXPECT_TRUE(Contains(plan.steps[0].sql, "__ivm_mv.\"__ivm_count__\" = 0 AS gone"));
}

TEST(GroupingSets, SplitBatchRecomputeHasTheEmptySetsRowOverNoInput) {
    const auto v = Rollup();
    auto delta = RelationDelta(v, 1, "", "\"__ivmx_old\"");
    delta.base_as_of = {"(SELECT 1) "};
    const MaintenanceStep recompute = StepOf(BuildMaintenancePlan(v, delta), StepInput::TidsToRecompute);
    EXPECT_TRUE(Contains(recompute.sql,
                         "UNION ALL SELECT NULL::integer AS __ivm_k0, 0 AS __ivm_k1, min(t.abalance) AS "
                         "__ivm_v0 FROM (SELECT 1)  AS t"))
        << recompute.sql;
    EXPECT_TRUE(Contains(recompute.sql, "grouping_sets.set_number = 0 HAVING count(*) = 0"));
}

TEST(GroupingSets, AnEmptySetsGroupIsEveryWritersRow) {
    EXPECT_EQ(ContentionRank(Rollup()), 2);
    auto v = Rollup();
    v.empty_grouping_sets.clear();
    EXPECT_EQ(ContentionRank(v), 0);
}
