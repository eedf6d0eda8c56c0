// Unit tests of the join-tree delta compiler (src/join_tree.cpp): which
// subtree deltas are materialized, how the root delta reaches the
// maintenance statements, and the checks on malformed trees. The SQL's
// results are checked against a real server by the regression and stress
// suites; here the structure is.
#include <gtest/gtest.h>

#include <algorithm>

#include "ivmx/core/error.hpp"
#include "ivmx/core/join_tree.hpp"
#include "ivmx/core/sql_writer.hpp"

namespace ivmx::core {
namespace {

JoinTree Leaf(size_t occurrence) {
    JoinTree t;
    t.occurrence = occurrence;
    return t;
}

JoinTree Node(JoinTree::Kind kind, JoinTree l, JoinTree r, const std::string& cond) {
    JoinTree t;
    t.kind = kind;
    t.condition_sql = cond;
    t.children.push_back(std::move(l));
    t.children.push_back(std::move(r));
    return t;
}

// SELECT a.id, b.id FROM a <kind> JOIN b ON a.k = b.k
ViewDefinition TwoTables(JoinTree::Kind kind) {
    ViewDefinition v;
    v.immv = {"public", "mv"};
    v.relations.push_back({{"public", "a"}, "a", 1, {}});
    v.relations.push_back({{"public", "b"}, "b", 2, {}});
    v.join_tree = Node(kind, Leaf(0), Leaf(1), "a.k = b.k");
    OutputColumn c1, c2;
    c1.name = "aid";
    c1.expression_sql = "a.id";
    c2.name = "bid";
    c2.expression_sql = "b.id";
    v.columns = {c1, c2};
    return v;
}

size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
    return n;
}

TEST(JoinTreeDelta, LeftJoinChangeOnNullableSideMaterializesEachReachedSubtreeOnce) {
    const ViewDefinition v = TwoTables(JoinTree::Kind::Left);
    const Delta d = BuildDelta(v, {{1, "ins", "del"}});
    // The changed leaf b and the root (whose terms include the padded
    // dangling rows of a).
    ASSERT_EQ(d.with_items.size(), 2u);
    EXPECT_TRUE(d.consolidate);
    ASSERT_EQ(d.streams.size(), 2u);
    EXPECT_EQ(d.streams[0].sign, 1);
    EXPECT_EQ(d.streams[1].sign, -1);
    // The change sources are read once, in the leaf's WITH query only.
    std::string all;
    for (const auto& w : d.with_items) all += w;
    EXPECT_EQ(Count(all, "ins AS b"), 1u);
    EXPECT_EQ(Count(all, "del AS b"), 1u);
    // Dangling rows of a are NULL-extended with b's row type.
    EXPECT_NE(all.find("CAST(NULL AS \"public\".\"b\")"), std::string::npos);
    for (const auto& s : d.streams) EXPECT_EQ(s.from_sql.find("ins"), std::string::npos);
}

TEST(JoinTreeDelta, UnchangedRelationsGiveNoDelta) {
    const ViewDefinition v = TwoTables(JoinTree::Kind::Full);
    const Delta d = BuildDelta(v, {});
    EXPECT_TRUE(d.streams.empty());
    EXPECT_TRUE(d.with_items.empty());
    EXPECT_TRUE(BuildMaintenancePlan(v, d).steps.empty());
}

TEST(JoinTreeDelta, EveryMaintenanceStatementStartsWithTheSubtreeDeltas) {
    const ViewDefinition v = TwoTables(JoinTree::Kind::Full);
    const Delta d = BuildDelta(v, {{0, "ins", ""}});
    const MaintenancePlan plan = BuildMaintenancePlan(v, d);
    ASSERT_FALSE(plan.steps.empty());
    for (const auto& step : plan.steps) {
        EXPECT_EQ(step.sql.rfind("WITH __ivm_d1 AS MATERIALIZED (", 0), 0u) << step.sql;
    }
}

TEST(JoinTreeDelta, NestedOuterJoinsGrowLinearly) {
    // a FULL JOIN (b FULL JOIN (c FULL JOIN d)), all four changed: each
    // subtree's delta is one WITH query, read by name by its parent.
    ViewDefinition v;
    v.immv = {"public", "mv"};
    const char* names[] = {"a", "b", "c", "d"};
    for (unsigned i = 0; i < 4; ++i) v.relations.push_back({{"public", names[i]}, names[i], i + 1, {}});
    v.join_tree = Node(
        JoinTree::Kind::Full, Leaf(0),
        Node(JoinTree::Kind::Full, Leaf(1), Node(JoinTree::Kind::Full, Leaf(2), Leaf(3), "c.k = d.k"), "b.k = c.k"),
        "a.k = b.k");
    OutputColumn c;
    c.name = "aid";
    c.expression_sql = "a.id";
    v.columns = {c};
    const Delta d = BuildDelta(v, {{0, "i0", "d0"}, {1, "i1", "d1"}, {2, "i2", "d2"}, {3, "i3", "d3"}});
    size_t total = 0;
    for (const auto& w : d.with_items) total += w.size();
    // 4 leaves and 3 joins.
    EXPECT_EQ(d.with_items.size(), 4u + 3u);
    EXPECT_LT(total, 40000u);
}

TEST(JoinTreeDelta, SemiJoinOutputsOnlyItsOuterSide) {
    ViewDefinition v = TwoTables(JoinTree::Kind::Semi);
    v.columns.pop_back();  // b is not visible above an EXISTS
    const Delta d = BuildDelta(v, {{1, "ins", ""}});
    const std::string root = d.with_items.back();
    EXPECT_EQ(root.find("AS __ivm_r1"), std::string::npos) << root;
    EXPECT_NE(root.find("AS __ivm_r0"), std::string::npos) << root;
}

TEST(JoinTreeValidation, RejectsTreesNotNamingEveryRelationOnce) {
    ViewDefinition v = TwoTables(JoinTree::Kind::Left);
    v.join_tree->children[1] = Leaf(0);
    EXPECT_THROW(ValidateJoinTree(v), Error);
    v.join_tree->children[1] = Leaf(5);
    EXPECT_THROW(ValidateJoinTree(v), Error);
    v = TwoTables(JoinTree::Kind::Left);
    v.join_tree->children.pop_back();
    EXPECT_THROW(ValidateJoinTree(v), Error);
    EXPECT_NO_THROW(ValidateJoinTree(TwoTables(JoinTree::Kind::Full)));
}

}  // namespace
}  // namespace ivmx::core

namespace ivmx::core {
namespace {

// A keyed view (rows identified by both ids), so that only the positions of
// the relations decide how their writers take turns.
ViewDefinition Keyed(ViewDefinition v) {
    v.row_key_columns = {"aid", "bid"};
    return v;
}

TEST(WriterConcurrency, InnerJoinWritersOfOneRelationRunTogether) {
    ViewDefinition v = Keyed(TwoTables(JoinTree::Kind::Inner));
    EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::PerRelation);
    EXPECT_EQ(WriterConcurrencyOf(v, 2), WriterConcurrency::PerRelation);
    v.join_tree.reset();  // the same inner join, written in FROM / WHERE
    EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::PerRelation);
    // A bag matched by value: every writer takes turns.
    v.row_key_columns.clear();
    EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::Exclusive);
}

TEST(ContentionRank, MostContendedLocksComeLast) {
    ViewDefinition join = Keyed(TwoTables(JoinTree::Kind::Inner));
    EXPECT_EQ(ContentionRank(join), 1);
    ViewDefinition one = join;
    one.relations.resize(1);
    one.join_tree.reset();
    EXPECT_EQ(ContentionRank(one), 0);
    one.row_key_columns.clear();  // a bag matched by value
    EXPECT_EQ(ContentionRank(one), 1);
    one.shape = ViewShape::GlobalAggregate;
    EXPECT_EQ(ContentionRank(one), 2);
}

TEST(WriterConcurrency, NullableSideAndExistsSubqueryWritersTakeTurns) {
    const ViewDefinition left = Keyed(TwoTables(JoinTree::Kind::Left));
    EXPECT_EQ(WriterConcurrencyOf(left, 1), WriterConcurrency::PerRelation);
    EXPECT_EQ(WriterConcurrencyOf(left, 2), WriterConcurrency::Exclusive);
    const ViewDefinition full = Keyed(TwoTables(JoinTree::Kind::Full));
    EXPECT_EQ(WriterConcurrencyOf(full, 1), WriterConcurrency::Exclusive);
    EXPECT_EQ(WriterConcurrencyOf(full, 2), WriterConcurrency::Exclusive);
    for (JoinTree::Kind kind : {JoinTree::Kind::Semi, JoinTree::Kind::Anti}) {
        const ViewDefinition v = Keyed(TwoTables(kind));
        EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::PerRelation);
        EXPECT_EQ(WriterConcurrencyOf(v, 2), WriterConcurrency::Exclusive);
    }
}

TEST(WriterConcurrency, NestedJoinsLookAtTheWholePath) {
    ViewDefinition v = Keyed(TwoTables(JoinTree::Kind::Inner));
    v.relations.push_back({{"public", "c"}, "c", 3, {}});
    // (a LEFT JOIN b) JOIN c: c is inner, b nullable.
    v.join_tree =
        Node(JoinTree::Kind::Inner, Node(JoinTree::Kind::Left, Leaf(0), Leaf(1), "a.k = b.k"), Leaf(2), "a.k = c.k");
    EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::PerRelation);
    EXPECT_EQ(WriterConcurrencyOf(v, 2), WriterConcurrency::Exclusive);
    EXPECT_EQ(WriterConcurrencyOf(v, 3), WriterConcurrency::PerRelation);
    // a LEFT JOIN (b JOIN c): both b and c are on the nullable side.
    v.join_tree =
        Node(JoinTree::Kind::Left, Leaf(0), Node(JoinTree::Kind::Inner, Leaf(1), Leaf(2), "b.k = c.k"), "a.k = b.k");
    EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::PerRelation);
    EXPECT_EQ(WriterConcurrencyOf(v, 3), WriterConcurrency::Exclusive);
}

TEST(WriterConcurrency, SelfJoinWritersTakeTurnsSingleRelationWritersNever) {
    ViewDefinition v = Keyed(TwoTables(JoinTree::Kind::Inner));
    v.relations[1].relation_id = 1;
    EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::Exclusive);
    v.relations.pop_back();
    v.join_tree.reset();
    EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::Free);
}

TEST(NettedBatch, AppliedByKeyOnlyForKeyedInnerBagsWithOneChange) {
    ViewDefinition v = Keyed(TwoTables(JoinTree::Kind::Inner));
    v.join_tree.reset();
    EXPECT_TRUE(NettedBatchIsKeyed(v, 1));
    // Two changed occurrences: the cross terms may repeat a key.
    EXPECT_FALSE(NettedBatchIsKeyed(v, 2));
    // Outer joins derive rows from match counts, not from one base row.
    EXPECT_FALSE(NettedBatchIsKeyed(Keyed(TwoTables(JoinTree::Kind::Left)), 1));
    v.row_key_columns.clear();
    EXPECT_FALSE(NettedBatchIsKeyed(v, 1));
    v = Keyed(TwoTables(JoinTree::Kind::Inner));
    v.join_tree.reset();
    v.shape = ViewShape::Distinct;
    EXPECT_FALSE(NettedBatchIsKeyed(v, 1));
}

TEST(ReadsWholeRows, JoinTreesAndWholeRowReferences) {
    ViewDefinition v = TwoTables(JoinTree::Kind::Left);
    v.relations[0].columns_read = {"id"};
    v.relations[1].columns_read = {"id"};
    // A join tree carries rows of the relation's type.
    EXPECT_TRUE(ReadsWholeRows(v, 0));
    v.join_tree.reset();
    EXPECT_FALSE(ReadsWholeRows(v, 0));
    // No columns named: every column is read.
    v.relations[1].columns_read.clear();
    EXPECT_TRUE(ReadsWholeRows(v, 1));
}

}  // namespace
}  // namespace ivmx::core
