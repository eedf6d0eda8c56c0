// Set operations: the operands' rows are unioned and tagged; the view's
// shape, its per-operand counts and the number of times a row is output
// follow from the operation tree.
#include <gtest/gtest.h>

#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/group_filter.hpp"
#include "ivmx/core/set_operation.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "test_fixtures.hpp"

using namespace ivmx::core;
using Kind = SetOperationTree::Kind;

namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// SELECT [DISTINCT] <alias>.x FROM <table> AS <alias>
ViewDefinition Leaf(const std::string& table, unsigned int relid, bool distinct = false) {
    ViewDefinition leaf;
    leaf.immv = {"public", "mv"};
    leaf.relations.push_back({{"public", table}, "t", relid, {"x"}});
    leaf.shape = distinct ? ViewShape::Distinct : ViewShape::Bag;
    OutputColumn x;
    x.name = "x";
    x.role = distinct ? ColumnRole::GroupKey : ColumnRole::Plain;
    x.expression_sql = "t.x";
    leaf.columns.push_back(x);
    return leaf;
}

SetOperationTree LeafNode(size_t leaf) {
    SetOperationTree t;
    t.leaf = leaf;
    return t;
}

SetOperationTree Op(Kind kind, bool all, SetOperationTree l, SetOperationTree r) {
    SetOperationTree t;
    t.kind = kind;
    t.all = all;
    t.children.push_back(std::move(l));
    t.children.push_back(std::move(r));
    return t;
}

ViewDefinition Binary(Kind kind, bool all, bool distinct_left = false) {
    return SetOperationView({"public", "mv"}, {{"x", "integer", true}}, {Leaf("a", 1, distinct_left), Leaf("b", 2)},
                            Op(kind, all, LeafNode(0), LeafNode(1)));
}

const OutputColumn* Column(const ViewDefinition& view, const std::string& name) {
    for (const auto& c : view.columns)
        if (c.name == name) return &c;
    return nullptr;
}

}  // namespace

TEST(SetOperation, UnionAllOfBagsIsABag) {
    const ViewDefinition v = Binary(Kind::Union, true);
    EXPECT_EQ(v.shape, ViewShape::Bag);
    EXPECT_FALSE(v.groups_table.has_value());
    ASSERT_EQ(v.relations.size(), 2u);
    EXPECT_EQ(v.relations[1].name.name, "b");
    EXPECT_EQ(BranchOf(v, 1).branch, 1u);
    EXPECT_EQ(BranchOf(v, 1).occurrence, 0u);
    EXPECT_THROW(BranchOf(v, 2), Error);
    // Rows matched by value: writers take turns.
    EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::Exclusive);
}

TEST(SetOperation, UnionIsDistinctAndKeepsNoCounts) {
    const ViewDefinition v = Binary(Kind::Union, false, true);
    EXPECT_EQ(v.shape, ViewShape::Distinct);
    EXPECT_FALSE(v.groups_table.has_value());
    EXPECT_EQ(v.columns.size(), 1u);
    EXPECT_EQ(IdentityColumns(v), std::vector<std::string>{"x"});
    // Nothing is counted per operand.
    EXPECT_FALSE(Contains(PopulateQuery(v), "FILTER"));
}

TEST(SetOperation, IntersectAndExceptCountRowsPerOperand) {
    const ViewDefinition v = Binary(Kind::Intersect, false);
    EXPECT_EQ(v.shape, ViewShape::Grouped);
    ASSERT_TRUE(v.groups_table.has_value());
    EXPECT_EQ(v.groups_table->name, "mv__ivm_groups");
    EXPECT_FALSE(RepeatsRows(v));
    const OutputColumn* count = Column(v, HiddenAggregateColumn(2));
    ASSERT_NE(count, nullptr);
    EXPECT_EQ(count->aggregate->filter_sql, "__ivm_set.__ivm_branch = 2");
    EXPECT_EQ(Column(v, HavingColumn())->expression_sql, "(least(least($1, $2), 1)) > 0");
    EXPECT_EQ(Column(Binary(Kind::Except, false), HavingColumn())->expression_sql,
              "(CASE WHEN $2 > 0 THEN 0 ELSE least($1, 1) END) > 0");
    // One row per group: the IMMV keeps its unique index.
    EXPECT_TRUE(Contains(*CreateIndexSql(v), "CREATE UNIQUE INDEX"));
}

TEST(SetOperation, AnAllAtTheRootOutputsRowsSeveralTimes) {
    const ViewDefinition v = Binary(Kind::Except, true);
    ASSERT_TRUE(RepeatsRows(v));
    EXPECT_EQ(Column(v, CopiesColumn())->expression_sql, "greatest($1 - $2, 0)");
    EXPECT_EQ(Column(Binary(Kind::Intersect, true), CopiesColumn())->expression_sql, "least($1, $2)");
    // A DISTINCT operand counts once at most; UNION ALL adds up.
    EXPECT_EQ(Column(Binary(Kind::Union, true, true), CopiesColumn())->expression_sql, "(least($1, 1) + $2)");
    // The IMMV holds duplicates, numbered: its rows are identified by their
    // values and number.
    EXPECT_EQ(*CreateIndexSql(v),
              "CREATE UNIQUE INDEX ON \"public\".\"mv\" (\"x\", \"__ivm_copy__\") NULLS NOT DISTINCT");
    EXPECT_EQ(TableColumns(v), (std::vector<std::string>{"x", CopyNumberColumn()}));
    EXPECT_TRUE(Contains(*CreateIndexSql(GroupStateView(v)), "CREATE UNIQUE INDEX"));
    EXPECT_TRUE(Contains(PopulateQuery(v), "generate_series(1, __ivm_g.\"__ivm_copies__\") AS __ivm_c"));
}

TEST(SetOperation, TreesComposeTheirCounts) {
    // a UNION ALL b EXCEPT ALL (c INTERSECT ALL d)
    std::vector<ViewDefinition> leaves{Leaf("a", 1), Leaf("b", 2), Leaf("c", 3), Leaf("d", 1)};
    const SetOperationTree tree = Op(Kind::Except, true, Op(Kind::Union, true, LeafNode(0), LeafNode(1)),
                                     Op(Kind::Intersect, true, LeafNode(2), LeafNode(3)));
    const ViewDefinition v = SetOperationView({"public", "mv"}, {{"x", "integer", true}}, leaves, tree);
    EXPECT_EQ(Column(v, CopiesColumn())->expression_sql, "greatest(($1 + $2) - least($3, $4), 0)");
    EXPECT_EQ(Column(v, CopiesColumn())->operands.size(), 4u);
    // Table a is read twice, by two operands.
    EXPECT_TRUE(HasRepeatedRelation(v));
    EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::Exclusive);
    EXPECT_EQ(WriterConcurrencyOf(v, 2), WriterConcurrency::PerRelation);
}

TEST(SetOperation, EveryOperandIsCastToTheColumnType) {
    const ViewDefinition v = SetOperationView({"public", "mv"}, {{"x", "numeric", true}}, {Leaf("a", 1), Leaf("b", 2)},
                                              Op(Kind::Except, false, LeafNode(0), LeafNode(1)));
    const std::string from = SetOperationFrom(v, BaseSources(v));
    EXPECT_EQ(from,
              " FROM (SELECT CAST((t.x) AS numeric) AS __ivm_col_1, 1 AS __ivm_branch FROM \"public\".\"a\" AS t "
              "UNION ALL SELECT CAST((t.x) AS numeric) AS __ivm_col_1, 2 AS __ivm_branch FROM \"public\".\"b\" AS t) "
              "AS __ivm_set");
    // Output columns read the union by position, so renaming them changes
    // nothing there.
    EXPECT_EQ(v.columns[0].expression_sql, "__ivm_set.__ivm_col_1");
}

TEST(SetOperation, TheDeltaIsTheUnionOfTheOperandsDeltas) {
    const ViewDefinition v = Binary(Kind::Intersect, true);
    // Only b changed: only the second operand's rows, tagged 2.
    Delta delta = RelationDelta(v, 2, "__ivmx_new", "__ivmx_old");
    ASSERT_EQ(delta.streams.size(), 2u);
    for (const auto& s : delta.streams) {
        EXPECT_TRUE(Contains(s.from_sql, "2 AS __ivm_branch FROM __ivmx_new AS t") ||
                    Contains(s.from_sql, "2 AS __ivm_branch FROM __ivmx_old AS t"));
        EXPECT_FALSE(Contains(s.from_sql, "\"public\".\"a\""));
    }
    EXPECT_EQ(delta.streams[0].sign, 1);
    EXPECT_EQ(delta.streams[1].sign, -1);
    // A table read by both operands: both deltas, never a cross term.
    std::vector<ViewDefinition> leaves{Leaf("a", 1), Leaf("a", 1)};
    const ViewDefinition self = SetOperationView({"public", "mv"}, {{"x", "integer", true}}, leaves,
                                                 Op(Kind::Except, true, LeafNode(0), LeafNode(1)));
    delta = RelationDelta(self, 1, "__ivmx_new", "");
    ASSERT_EQ(delta.streams.size(), 2u);
    EXPECT_TRUE(Contains(delta.streams[0].from_sql, "1 AS __ivm_branch"));
    EXPECT_TRUE(Contains(delta.streams[1].from_sql, "2 AS __ivm_branch"));
    EXPECT_FALSE(delta.consolidate);
}

TEST(SetOperation, AUnionAllInFromIsReadWithFunctionsInFrom) {
    // SELECT u.x, g FROM (SELECT x FROM a UNION ALL SELECT x FROM b) u, generate_series(1, 2) g WHERE g > u.x
    ViewDefinition v;
    v.immv = {"public", "mv"};
    v.shape = ViewShape::Bag;
    v.constants.push_back({"ROWS FROM (generate_series(1, 2))", "g", {{"g", "integer"}}});
    v.where_sql = "g.g > __ivm_set.__ivm_col_1";
    OutputColumn x;
    x.name = "x";
    x.expression_sql = "__ivm_set.__ivm_col_1";
    v.columns.push_back(x);
    ReadUnionAll(v, {{UnionColumn(0), "integer", true}}, {Leaf("a", 1), Leaf("b", 2)});
    const std::string tail =
        ") AS __ivm_set, ROWS FROM (generate_series(1, 2)) AS g(\"g\") WHERE g.g > __ivm_set.__ivm_col_1";
    EXPECT_TRUE(Contains(SetOperationFrom(v, BaseSources(v)), tail));
    const Delta delta = RelationDelta(v, 2, "__ivmx_new", "");
    ASSERT_EQ(delta.streams.size(), 1u);
    EXPECT_TRUE(Contains(delta.streams[0].from_sql, tail));
}

TEST(SetOperation, RelationLimitsApplyPerOperand) {
    std::vector<ViewDefinition> leaves;
    SetOperationTree tree = LeafNode(0);
    for (size_t k = 0; k < kMaxOccurrencesPerRelation + 2; ++k) {
        leaves.push_back(Leaf("a", 1));
        if (k > 0) tree = Op(Kind::Union, true, tree, LeafNode(k));
    }
    const ViewDefinition v = SetOperationView({"public", "mv"}, {{"x", "integer", true}}, leaves, tree);
    EXPECT_NO_THROW(ValidateRelations(v));
}

TEST(SetOperation, GroupedOrNestedOperandsAreRefused) {
    ViewDefinition grouped = ivmx::test::BranchTotals();
    grouped.columns.resize(1);
    try {
        SetOperationView({"public", "mv"}, {{"bid", "integer", true}}, {grouped, Leaf("b", 2)},
                         Op(Kind::Union, false, LeafNode(0), LeafNode(1)));
        FAIL() << "a grouped operand was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), std::string(sqlstate::kFeatureNotSupported));
        EXPECT_TRUE(Contains(e.what(), "GROUP BY or aggregates in an operand"));
    }
}

TEST(SetOperation, AnOperandMayReadAUnionAll) {
    // SELECT x FROM (SELECT x FROM a UNION ALL SELECT x FROM c) u EXCEPT ALL SELECT x FROM b
    ViewDefinition inner;
    inner.immv = {"public", "mv"};
    inner.shape = ViewShape::Bag;
    OutputColumn x;
    x.name = "x";
    x.expression_sql = "__ivm_set.__ivm_col_1";
    inner.columns.push_back(x);
    ReadUnionAll(inner, {{UnionColumn(0), "integer", true}}, {Leaf("a", 1), Leaf("c", 3)});
    const ViewDefinition v = SetOperationView({"public", "mv"}, {{"x", "integer", true}}, {inner, Leaf("b", 2)},
                                              Op(Kind::Except, true, LeafNode(0), LeafNode(1)));
    ASSERT_EQ(v.relations.size(), 3u);
    EXPECT_EQ(BranchOf(v, 1).branch, 0u);
    EXPECT_EQ(BranchOf(v, 2).branch, 1u);
    const Delta delta = RelationDelta(v, 3, "__ivmx_new", "");
    ASSERT_EQ(delta.streams.size(), 1u);
    // The inner union's leaf 2 inside the outer operation's leaf 1.
    EXPECT_TRUE(Contains(delta.streams[0].from_sql, "2 AS __ivm_branch FROM __ivmx_new AS t"));
    EXPECT_TRUE(Contains(delta.streams[0].from_sql, "1 AS __ivm_branch FROM (SELECT"));
}

TEST(SetOperation, CopiesAreSyncedPerTouchedGroup) {
    const ViewDefinition v = Binary(Kind::Except, true);
    const Delta delta = RelationDelta(v, 1, "__ivmx_new", "__ivmx_old");
    const MaintenancePlan plan = BuildMaintenancePlan(v, delta);
    ASSERT_FALSE(plan.steps.empty());
    const std::string& sync = plan.steps.back().sql;
    // The rows a group had are the copies of its counts before the delta
    // (now less the delta's), numbered: those numbered beyond the copies
    // now go, by key and number, and the missing numbers come; no row of
    // the group is counted.
    EXPECT_TRUE(Contains(sync, "(COALESCE(__ivm_g.\"__ivm_agg_1__\", 0) - __ivm_t.\"__ivm_agg_1__\")"));
    EXPECT_TRUE(Contains(sync, "__ivm_l.\"__ivm_copy__\" > __ivm_s.\"__ivm_n\""));
    EXPECT_TRUE(Contains(sync, "generate_series(__ivm_s.\"__ivm_have\" + 1, __ivm_s.\"__ivm_n\")"));
    EXPECT_FALSE(Contains(sync, "count(__ivm_r"));
    EXPECT_TRUE(plan.steps.back().returns_count);
    // The delta goes to the groups table first.
    EXPECT_TRUE(Contains(plan.steps.front().sql, "INSERT INTO \"public\".\"mv__ivm_groups\""));
}
