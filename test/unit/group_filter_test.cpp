// HAVING: the delta goes to the groups table (every group's state), then one
// statement brings the IMMV's rows of the touched groups in line with it.
#include <gtest/gtest.h>

#include "ivmx/core/delta_query.hpp"
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

OutputColumn Having(const std::string& template_sql, std::vector<size_t> operands) {
    OutputColumn c;
    c.name = HavingColumn();
    c.role = ColumnRole::AggregateExpression;
    c.expression_sql = template_sql;
    c.operands = std::move(operands);
    c.hidden = true;
    c.type_sql = "boolean";
    return c;
}

// SELECT bid, sum(abalance) AS total FROM accounts GROUP BY bid HAVING count(*) > 1
ViewDefinition HavingView() {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("bid", "t.bid", true));
    v.columns.push_back(Agg("total", AggregateKind::Sum, "t.abalance", "integer", "bigint"));
    OutputColumn count = Agg(HiddenAggregateColumn(1), AggregateKind::CountStar);
    count.hidden = true;
    v.columns.push_back(count);
    v.columns.push_back(Having("($1 > 1)", {2}));
    v.groups_table = CompanionName(v.immv, kGroupsSuffix);
    return v;
}

}  // namespace

TEST(GroupFilter, CompanionNameFitsAnIdentifier) {
    EXPECT_EQ(CompanionName({"s", "mv"}, kGroupsSuffix).name, "mv__ivm_groups");
    const QualifiedName long_name = CompanionName({"s", std::string(60, 'x')}, kGroupsSuffix);
    EXPECT_EQ(long_name.name.size(), 63u);
    EXPECT_EQ(long_name.schema, "s");
    // Never cut inside a multibyte character (é is two bytes in UTF-8).
    std::string accented;
    for (int i = 0; i < 30; ++i) accented += "\xc3\xa9";
    const std::string cut = CompanionName({"s", accented}, kGroupsSuffix).name;
    EXPECT_LE(cut.size(), 63u);
    EXPECT_EQ((cut.size() - std::string(kGroupsSuffix).size()) % 2, 0u);
}

TEST(GroupFilter, TheImmvHoldsVisibleColumnsAndKeysOnly) {
    const ViewDefinition v = HavingView();
    EXPECT_EQ(TableColumns(v), (std::vector<std::string>{"bid", "total"}));
    const std::vector<std::string> state = TableColumns(GroupStateView(v));
    EXPECT_NE(std::find(state.begin(), state.end(), HavingColumn()), state.end());
    EXPECT_NE(std::find(state.begin(), state.end(), MultiplicityColumn()), state.end());
}

TEST(GroupFilter, TheDeltaGoesToTheGroupsTableThenToTheImmv) {
    const ViewDefinition v = HavingView();
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"__ivmx_new\"", "\"__ivmx_old\""));
    ASSERT_GE(plan.steps.size(), 2u);
    EXPECT_TRUE(Contains(plan.steps[0].sql, "INSERT INTO \"public\".\"mv__ivm_groups\""));
    for (size_t i = 0; i + 1 < plan.steps.size(); ++i)
        EXPECT_FALSE(Contains(plan.steps[i].sql, "\"public\".\"mv\" ")) << plan.steps[i].sql;
    const MaintenanceStep& sync = plan.steps.back();
    EXPECT_TRUE(sync.returns_count);
    EXPECT_EQ(sync.input, StepInput::None);
    // Groups that fail the condition or are gone leave the IMMV...
    EXPECT_TRUE(Contains(sync.sql, "DELETE FROM \"public\".\"mv\""));
    EXPECT_TRUE(Contains(sync.sql, "\"__ivm_pass\" IS NOT TRUE"));
    // ...those that pass are updated when their values changed, or inserted.
    EXPECT_TRUE(Contains(sync.sql, "UPDATE \"public\".\"mv\" AS __ivm_mv SET \"total\" = __ivm_s.\"total\""));
    EXPECT_TRUE(Contains(sync.sql, "IS DISTINCT FROM"));
    EXPECT_TRUE(Contains(sync.sql, "INSERT INTO \"public\".\"mv\" (\"bid\", \"total\")"));
    // Only the groups the delta touched, found by key (a NOT NULL key: =).
    EXPECT_TRUE(Contains(sync.sql, "SELECT DISTINCT * FROM (SELECT t.bid AS \"bid\" FROM \"__ivmx_new\""));
    EXPECT_TRUE(Contains(sync.sql, "__ivm_l.\"bid\" = __ivm_t.\"bid\""));
    // The IMMV's rows are written by the ctid the lookup found.
    EXPECT_TRUE(Contains(sync.sql, "__ivm_mv.ctid = __ivm_s.\"__ivm_row\""));
    EXPECT_TRUE(Contains(sync.sql, "__ivm_s.\"__ivm_row\" IS NULL"));
}

TEST(GroupFilter, PopulateAndRefreshGoThroughTheGroups) {
    const ViewDefinition v = HavingView();
    const std::string populate = PopulateQuery(v);
    EXPECT_TRUE(Contains(populate, "WHERE __ivm_g.\"__ivm_having__\""));
    EXPECT_TRUE(Contains(populate, "((count(*)) > 1) AS \"__ivm_having__\""));
    const std::vector<std::string> refresh = RefreshStatements(v, true);
    ASSERT_EQ(refresh.size(), 4u);
    EXPECT_EQ(refresh[0], "TRUNCATE \"public\".\"mv__ivm_groups\"");
    EXPECT_TRUE(Contains(refresh[1], "INSERT INTO \"public\".\"mv__ivm_groups\""));
    EXPECT_EQ(refresh[2], "TRUNCATE \"public\".\"mv\"");
    EXPECT_TRUE(Contains(refresh[3], "FROM \"public\".\"mv__ivm_groups\" AS __ivm_g WHERE"));
    const std::vector<std::string> companions = CreateCompanionsSql(v);
    ASSERT_EQ(companions.size(), 2u);
    EXPECT_TRUE(Contains(companions[0], "CREATE TABLE \"public\".\"mv__ivm_groups\""));
    EXPECT_TRUE(Contains(companions[1], "CREATE UNIQUE INDEX ON \"public\".\"mv__ivm_groups\""));
}

TEST(GroupFilter, WithoutGroupByTheImmvHoldsOneRowOrNone) {
    auto v = BaseView(ViewShape::GlobalAggregate);
    v.columns.push_back(Agg("n", AggregateKind::CountStar));
    v.columns.push_back(Having("($1 > 10)", {0}));
    v.groups_table = CompanionName(v.immv, kGroupsSuffix);
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"__ivmx_new\"", ""));
    const std::string& sync = plan.steps.back().sql;
    EXPECT_TRUE(Contains(sync, "DELETE FROM \"public\".\"mv\" RETURNING 1"));
    EXPECT_TRUE(Contains(sync, "INSERT INTO \"public\".\"mv\" (\"n\") SELECT __ivm_g.\"n\""));
}

TEST(GroupFilter, KeyLookupUsesEqualityAndANullBranchOnlyForNullableKeys) {
    const std::string both = KeyLookup("tab", {{"a", "", true}, {"b", "", false}}, "o", "__ivm_l.x", "r");
    EXPECT_EQ(both,
              "LATERAL (SELECT __ivm_l.x FROM tab AS __ivm_l WHERE __ivm_l.\"a\" = o.\"a\" AND __ivm_l.\"b\" = o.\"b\" "
              "UNION ALL SELECT __ivm_l.x FROM tab AS __ivm_l WHERE (o.\"b\" IS NULL) AND __ivm_l.\"a\" = o.\"a\" AND "
              "(__ivm_l.\"b\" = o.\"b\" OR (__ivm_l.\"b\" IS NULL AND o.\"b\" IS NULL))) AS r");
    const std::string not_null = KeyLookup("tab", {{"a", "", true}}, "o", "1", "r");
    EXPECT_EQ(not_null, "LATERAL (SELECT 1 FROM tab AS __ivm_l WHERE __ivm_l.\"a\" = o.\"a\") AS r");
}
