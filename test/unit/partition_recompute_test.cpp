// Window functions and DISTINCT ON: the partitions a change touches are
// recomputed (core::PartitionRecompute).
#include <gtest/gtest.h>

#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"
#include "test_fixtures.hpp"

using namespace ivmx::core;
using ivmx::test::BaseView;
using ivmx::test::Key;

namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// SELECT aid, row_number() OVER (PARTITION BY bid ...) FROM accounts t.
ViewDefinition Ranked(bool keyed = true) {
    ViewDefinition view = BaseView(ViewShape::Bag);
    view.columns.push_back(Key("aid", "t.aid"));
    OutputColumn rank;
    rank.name = "rn";
    rank.role = ColumnRole::Plain;
    view.columns.push_back(rank);
    PartitionRecompute p;
    p.query_sql = "SELECT aid, row_number() OVER (PARTITION BY bid ORDER BY aid) AS rn, bid AS __ivm_key_1__ FROM t";
    if (keyed) {
        OutputColumn key = Key("__ivm_key_1__", "t.bid");
        key.hidden = true;
        view.columns.push_back(key);
        p.keys = {"t.bid"};
        p.key_columns = {"__ivm_key_1__"};
        p.touched_query_sql = "SELECT ... WHERE " + TouchedKeyCondition("bid", 1);
    }
    view.partitions = p;
    return view;
}

}  // namespace

TEST(PartitionRecompute, TouchedPartitionsAreDeletedAndComputedAgain) {
    const ViewDefinition view = Ranked();
    const MaintenancePlan plan = BuildMaintenancePlan(view, RelationDelta(view, 1, "\"__ivmx_new\"", "\"__ivmx_old\""));
    ASSERT_EQ(plan.steps.size(), 1u);
    const std::string& sql = plan.steps[0].sql;
    // The keys of the changed rows, both sides.
    EXPECT_TRUE(Contains(sql,
                         "__ivm_touched AS (SELECT t.bid AS __ivm_k1 FROM \"__ivmx_new\" AS t UNION SELECT t.bid "
                         "AS __ivm_k1 FROM \"__ivmx_old\" AS t)"));
    // The IMMV rows of those partitions (NULL keys included) go first.
    EXPECT_TRUE(Contains(
        sql, "DELETE FROM \"public\".\"mv\" __ivm_i WHERE " + TouchedKeyCondition("__ivm_i.\"__ivm_key_1__\"", 1)));
    EXPECT_TRUE(Contains(TouchedKeyCondition("x", 1), "x IS NULL AND"));
    // Then the partitions are computed again from the base.
    EXPECT_TRUE(Contains(sql, "SELECT * FROM (" + view.partitions->touched_query_sql + ") __ivm_f"));
    EXPECT_TRUE(Contains(sql, "(SELECT count(*) FROM __ivm_gone) >= 0"));
    EXPECT_EQ(PopulateQuery(view), view.partitions->query_sql);
    EXPECT_EQ(*CreateIndexSql(view), "CREATE INDEX ON \"public\".\"mv\" (\"__ivm_key_1__\")");
}

TEST(PartitionRecompute, WithoutKeysTheWholeViewIsComputedAgain) {
    const ViewDefinition view = Ranked(false);
    const std::string sql = BuildMaintenancePlan(view, RelationDelta(view, 1, "\"__ivmx_new\"", "")).steps.at(0).sql;
    EXPECT_TRUE(Contains(sql, "__ivm_gone AS (DELETE FROM \"public\".\"mv\" RETURNING 1)"));
    EXPECT_TRUE(Contains(sql, view.partitions->query_sql));
    EXPECT_FALSE(Contains(sql, "__ivm_touched"));
}

TEST(PartitionRecompute, WritersTakeTurns) {
    EXPECT_EQ(WriterConcurrencyOf(Ranked(), 1), WriterConcurrency::Exclusive);
    EXPECT_TRUE(ReadsRelationState(Ranked()));
}
