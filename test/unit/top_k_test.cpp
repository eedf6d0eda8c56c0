// Top-K views (ORDER BY ... LIMIT): the rows computed again and the
// difference written to the IMMV.
#include <gtest/gtest.h>

#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"
#include "test_fixtures.hpp"

using namespace ivmx::core;
using ivmx::test::BranchTotals;

namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

ViewDefinition TopBranches(bool with_ties = false, long long offset = 0) {
    ViewDefinition view = BranchTotals();
    view.top_k = TopK{{"\"sum\" DESC NULLS FIRST", "\"bid\" ASC NULLS LAST"}, 3, offset, with_ties};
    return view;
}

}  // namespace

TEST(TopK, PopulateOrdersTheWholeViewAndKeepsTheFirstRows) {
    const std::string sql = PopulateQuery(TopBranches());
    EXPECT_TRUE(Contains(sql, "SELECT * FROM (" + PopulateQuery(BranchTotals()) + ") __ivm_q"));
    EXPECT_TRUE(Contains(sql, "ORDER BY \"sum\" DESC NULLS FIRST, \"bid\" ASC NULLS LAST FETCH FIRST 3 ROWS ONLY"));
    EXPECT_FALSE(Contains(sql, "OFFSET"));
    EXPECT_TRUE(Contains(PopulateQuery(TopBranches(true, 2)), "OFFSET 2 ROWS FETCH FIRST 3 ROWS WITH TIES"));
}

TEST(TopK, AnyChangeWritesOnlyTheDifference) {
    const ViewDefinition view = TopBranches();
    const MaintenancePlan plan = BuildMaintenancePlan(view, RelationDelta(view, 1, "\"__ivmx_new\"", ""));
    ASSERT_EQ(plan.steps.size(), 1u);
    const std::string& sql = plan.steps[0].sql;
    // The top rows again, and the IMMV's rows, numbered among equal rows
    // (compared as text: display scales count).
    EXPECT_TRUE(Contains(sql, "__ivm_new AS (SELECT __ivm_f.*"));
    EXPECT_TRUE(Contains(sql, PopulateQuery(view)));
    EXPECT_TRUE(Contains(sql, "row_number() OVER (PARTITION BY ROW(__ivm_i.\"bid\""));
    EXPECT_TRUE(Contains(sql, ")::text"));
    // Deletes first (gating the inserts), then the missing rows.
    EXPECT_TRUE(Contains(sql, "__ivm_gone AS (DELETE FROM"));
    EXPECT_TRUE(Contains(sql, "(SELECT count(*) FROM __ivm_gone) >= 0"));
    // It does not read the changed rows themselves.
    EXPECT_FALSE(Contains(sql, "__ivmx_new"));
    // Nothing changed: nothing to do.
    EXPECT_TRUE(BuildMaintenancePlan(view, Delta{}).steps.empty());
}

TEST(TopK, WritersTakeTurnsAndReadTheLatestState) {
    const ViewDefinition view = TopBranches();
    EXPECT_EQ(WriterConcurrencyOf(view, 1), WriterConcurrency::Exclusive);
    EXPECT_TRUE(ReadsRelationState(view));
    EXPECT_FALSE(ReadsRelationState(BranchTotals()));
}

TEST(TopK, RefreshRecomputesTheTopRows) {
    const std::vector<std::string> statements = RefreshStatements(TopBranches(), true, false);
    ASSERT_FALSE(statements.empty());
    EXPECT_TRUE(Contains(statements.back(), "FETCH FIRST 3 ROWS ONLY"));
}
