// Unit tests of constant relations (functions in FROM over constants) and of
// views without a FROM list: the SQL the core writes reads a constant
// relation in full in every statement and never in place of a change, and a
// view without a FROM list is populated by a SELECT without FROM. The SQL's
// results are checked against a real server by the regression and stress
// suites; here its structure is.
#include <gtest/gtest.h>

#include <string>

#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/join_tree.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "test_fixtures.hpp"

namespace ivmx::core {
namespace {

using test::Agg;
using test::Key;

bool Contains(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
    return n;
}

std::string AllSql(const MaintenancePlan& plan) {
    std::string all;
    for (const auto& step : plan.steps) all += step.sql + ";\n";
    return all;
}

// generate_series(1, 3) AS i(i)
ConstantRelation Series() {
    return {"ROWS FROM (generate_series(1, 3))", "i", {{"i", "integer"}}};
}

const char* kSeriesItem = "ROWS FROM (generate_series(1, 3)) AS i(\"i\")";

OutputColumn Plain(const std::string& name, const std::string& expr, const std::string& type = "integer") {
    OutputColumn c;
    c.name = name;
    c.role = ColumnRole::Plain;
    c.expression_sql = expr;
    c.type_sql = type;
    return c;
}

// SELECT t.aid, i.i FROM accounts t, generate_series(1, 3) i
ViewDefinition BagTimesSeries() {
    ViewDefinition v = test::BaseView(ViewShape::Bag);
    v.constants.push_back(Series());
    v.columns = {Plain("aid", "t.aid"), Plain("i", "i.i")};
    return v;
}

// SELECT 1 AS one, 'x'::text AS t
ViewDefinition WithoutFrom() {
    ViewDefinition v;
    v.immv = {"public", "mv"};
    v.shape = ViewShape::Bag;
    v.columns = {Plain("one", "1"), Plain("t", "'x'::text", "text")};
    return v;
}

TEST(ConstantRelation, FromItemNamesEveryColumn) {
    const ConstantRelation rows{"ROWS FROM (generate_series(1, 2), unnest('{x,y}'::text[])) WITH ORDINALITY",
                                "r",
                                {{"a", "integer"}, {"b", "text"}, {"o", "bigint"}}};
    EXPECT_EQ(ConstantFromItem(rows),
              "ROWS FROM (generate_series(1, 2), unnest('{x,y}'::text[])) WITH ORDINALITY AS r(\"a\", \"b\", \"o\")");
}

TEST(ConstantRelation, PopulateReadsItAfterTheRelations) {
    const std::string sql = PopulateQuery(BagTimesSeries());
    EXPECT_EQ(sql,
              std::string("SELECT t.aid AS \"aid\", i.i AS \"i\" FROM \"public\".\"accounts\" AS t, ") + kSeriesItem);
}

TEST(ConstantRelation, EveryDeltaStreamReadsItInFullNeverAsAChange) {
    const ViewDefinition v = BagTimesSeries();
    const Delta d = RelationDelta(v, 1, "ins", "del");
    ASSERT_EQ(d.streams.size(), 2u);
    // One change source per stream: the relation's; the constant relation
    // is no source of the delta (DeltaStream::sources has one entry per
    // relation occurrence).
    for (const auto& s : d.streams) EXPECT_EQ(s.sources.size(), 1u);
    const std::string all = AllSql(BuildMaintenancePlan(v, d));
    EXPECT_EQ(Count(all, kSeriesItem), 2u);  // the delete's stream and the insert's
    EXPECT_TRUE(Contains(all, "FROM ins AS t, " + std::string(kSeriesItem)));
    EXPECT_TRUE(Contains(all, "FROM del AS t, " + std::string(kSeriesItem)));
    EXPECT_FALSE(Contains(all, "\"public\".\"accounts\""));
}

TEST(ConstantRelation, SelfJoinTermsReadItInEachTerm) {
    ViewDefinition v = BagTimesSeries();
    v.relations.push_back({{"public", "accounts"}, "u", 1, {}});
    const Delta d = RelationDelta(v, 1, "ins", "");
    // dT x T' + T' x dT - dT x dT: three terms, each with the constant once.
    ASSERT_EQ(d.streams.size(), 3u);
    EXPECT_TRUE(d.consolidate);
    const std::string all = AllSql(BuildMaintenancePlan(v, d));
    EXPECT_TRUE(Contains(all, "FROM ins AS t, \"public\".\"accounts\" AS u, " + std::string(kSeriesItem)));
    EXPECT_TRUE(Contains(all, "FROM \"public\".\"accounts\" AS t, ins AS u, " + std::string(kSeriesItem)));
    EXPECT_TRUE(Contains(all, "FROM ins AS t, ins AS u, " + std::string(kSeriesItem)));
}

TEST(ConstantRelation, GroupedViewRecomputesOverItAsOfTheBatchEnd) {
    ViewDefinition v = test::BaseView(ViewShape::Grouped);
    v.constants.push_back(Series());
    v.columns = {Key("i", "i.i"), Agg("top", AggregateKind::Max, "t.abalance", "integer", "integer")};
    Delta d = RelationDelta(v, 1, "ins", "del");
    d.base_as_of = {"__ivm_before"};
    const std::string all = AllSql(BuildMaintenancePlan(v, d));
    EXPECT_TRUE(Contains(all, "FROM __ivm_before AS t, " + std::string(kSeriesItem) + " GROUP BY i.i"));
    EXPECT_EQ(PopulateQuery(v).substr(PopulateQuery(v).find(" FROM ")),
              " FROM \"public\".\"accounts\" AS t, " + std::string(kSeriesItem) + " GROUP BY i.i");
}

TEST(ConstantRelation, BagWithoutKeyTakesTurnsButGroupedViewOfOneRelationDoesNot) {
    // Its rows have no key: the relations' keys do not identify the view's
    // rows (analysis leaves row_key_columns empty), so they are matched by
    // value.
    EXPECT_EQ(WriterConcurrencyOf(BagTimesSeries(), 1), WriterConcurrency::Exclusive);
    ViewDefinition grouped = test::BaseView(ViewShape::Grouped);
    grouped.constants.push_back(Series());
    grouped.columns = {Key("i", "i.i"), Agg("n", AggregateKind::CountStar)};
    EXPECT_EQ(WriterConcurrencyOf(grouped, 1), WriterConcurrency::Free);
    EXPECT_EQ(ContentionRank(grouped), 0);
}

TEST(ConstantRelation, ViewsWithoutRelationsAreConstant) {
    EXPECT_FALSE(IsConstantView(BagTimesSeries()));
    EXPECT_TRUE(IsConstantView(WithoutFrom()));
    ViewDefinition only_series = WithoutFrom();
    only_series.constants.push_back(Series());
    EXPECT_TRUE(IsConstantView(only_series));
    EXPECT_EQ(PopulateQuery(only_series), "SELECT 1 AS \"one\", 'x'::text AS \"t\" FROM " + std::string(kSeriesItem));
}

TEST(ConstantRelation, ByValueMatchingNeedsEqualityOnlyWhereRowsChange) {
    // json has no btree equality: a bag whose rows are matched by value
    // cannot hold it, but the rows of a view reading no table are never
    // matched.
    ViewDefinition constant = WithoutFrom();
    constant.columns[1].has_equality = false;
    EXPECT_NO_THROW(ValidateColumns(constant));
    ViewDefinition changing = BagTimesSeries();
    changing.columns[1].has_equality = false;
    try {
        ValidateColumns(changing);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), sqlstate::kFeatureNotSupported);
        // Selecting the primary key would not help: the function's rows
        // have no key.
        EXPECT_TRUE(e.hint().empty());
    }
}

TEST(WithoutFrom, PopulateHasNoFromList) {
    EXPECT_EQ(PopulateQuery(WithoutFrom()), "SELECT 1 AS \"one\", 'x'::text AS \"t\"");
    ViewDefinition filtered = WithoutFrom();
    filtered.where_sql = "(2 > 1)";
    EXPECT_EQ(PopulateQuery(filtered), "SELECT 1 AS \"one\", 'x'::text AS \"t\" WHERE (2 > 1)");
    EXPECT_EQ(RefreshStatements(WithoutFrom(), true)[1],
              "INSERT INTO \"public\".\"mv\" (\"one\", \"t\") SELECT 1 AS \"one\", 'x'::text AS \"t\"");
}

TEST(WithoutFrom, GlobalAggregateCountsTheOneRow) {
    ViewDefinition v = WithoutFrom();
    v.shape = ViewShape::GlobalAggregate;
    v.columns = {Agg("n", AggregateKind::CountStar)};
    EXPECT_EQ(PopulateQuery(v), "SELECT count(*) AS \"n\", count(*) AS \"__ivm_count__\"");
}

TEST(WithoutFrom, LiteralGroupKeysAreValuesNotPositions) {
    // SELECT DISTINCT 5 AS five, true AS yes, 1.5 AS f, 'x'::text AS t: as
    // GROUP BY items, 5 would name the fifth output column and true and 1.5
    // are "non-integer constants"; cast, they are values.
    ViewDefinition v = WithoutFrom();
    v.shape = ViewShape::Distinct;
    v.columns = {Plain("five", "5"), Plain("yes", "true", "boolean"), Plain("f", "1.5", "numeric"),
                 Plain("t", "'x'::text", "text")};
    EXPECT_EQ(GroupingExpressions(v), (std::vector<std::string>{"CAST(5 AS integer)", "CAST(true AS boolean)",
                                                                "CAST(1.5 AS numeric)", "'x'::text"}));
    EXPECT_TRUE(Contains(PopulateQuery(v),
                         " GROUP BY CAST(5 AS integer), CAST(true AS boolean), "
                         "CAST(1.5 AS numeric), 'x'::text"));
    // An expression that merely starts with a digit is left alone.
    EXPECT_EQ(GroupingItem(Plain("e", "1 + t.aid")), "1 + t.aid");
    EXPECT_EQ(GroupingItem(Plain("e", "1e5", "numeric")), "CAST(1e5 AS numeric)");
}

// a LEFT JOIN generate_series(1, 3) AS i(i) ON a.k = i.i, and the mirror
// image (the constant relation on the preserved side).
ViewDefinition LeftJoin(bool constant_preserved) {
    ViewDefinition v;
    v.immv = {"public", "mv"};
    v.relations.push_back({{"public", "a"}, "a", 1, {}});
    v.constants.push_back(Series());
    JoinTree relation, constant, join;
    constant.kind = JoinTree::Kind::Constant;
    join.kind = JoinTree::Kind::Left;
    join.condition_sql = "a.k = i.i";
    join.children =
        constant_preserved ? std::vector<JoinTree>{constant, relation} : std::vector<JoinTree>{relation, constant};
    v.join_tree = join;
    v.columns = {Plain("aid", "a.id"), Plain("i", "i.i")};
    return v;
}

TEST(ConstantRelationJoinTree, ConstantOnNullableSideIsCarriedColumnByColumn) {
    const ViewDefinition v = LeftJoin(false);
    EXPECT_NO_THROW(ValidateJoinTree(v));
    EXPECT_EQ(JoinTreeFrom(v),
              std::string(" FROM (\"public\".\"a\" AS a LEFT JOIN ") + kSeriesItem + " ON a.k = i.i) WHERE true");
    const Delta d = BuildDelta(v, {{0, "ins", "del"}});
    // The changed leaf a and the root; the constant is no change.
    ASSERT_EQ(d.with_items.size(), 2u);
    std::string all;
    for (const auto& w : d.with_items) all += w;
    // The root's delta holds the constant's column as a column of its own,
    // padded with a NULL of its type for dangling rows of a.
    EXPECT_TRUE(Contains(all, "i.\"i\" AS __ivm_c0_0"));
    EXPECT_TRUE(Contains(all, "CAST(NULL AS integer) AS __ivm_c0_0"));
    EXPECT_TRUE(Contains(all, kSeriesItem));
    EXPECT_FALSE(Contains(all, "ins AS i"));
    // The streams bind the alias i to those columns again.
    for (const auto& s : d.streams)
        EXPECT_TRUE(Contains(s.from_sql, "CROSS JOIN LATERAL (SELECT __ivm_u3.__ivm_c0_0 AS \"i\") AS i"));
}

TEST(ConstantRelationJoinTree, ConstantOnPreservedSideIsReadInFull) {
    const ViewDefinition v = LeftJoin(true);
    const Delta d = BuildDelta(v, {{0, "ins", "del"}});
    ASSERT_EQ(d.streams.size(), 2u);
    std::string all;
    for (const auto& w : d.with_items) all += w;
    // Rows of the constant that gain or lose their match in a: read in
    // full, with the change, never as a change.
    EXPECT_TRUE(Contains(all, kSeriesItem));
    EXPECT_FALSE(Contains(all, "ins AS i"));
    EXPECT_FALSE(Contains(all, "del AS i"));
    // Nothing changes when no relation does.
    EXPECT_TRUE(BuildDelta(v, {}).streams.empty());
}

// With a function on the other side of an outer join, the view's only
// relation takes turns with its other writers unless it is preserved:
// whether a row of the function had a match before is derived from the
// relation's state, which another writer of it changes.
TEST(ConstantRelationJoinTree, OnlyRelationOnTheNullableSideTakesTurns) {
    ViewDefinition preserved = LeftJoin(false);
    preserved.shape = ViewShape::Grouped;
    preserved.columns = {Key("i", "i.i"), Agg("n", AggregateKind::CountStar)};
    EXPECT_EQ(WriterConcurrencyOf(preserved, 1), WriterConcurrency::Free);
    EXPECT_EQ(ContentionRank(preserved), 0);
    ViewDefinition nullable = LeftJoin(true);
    nullable.shape = ViewShape::Grouped;
    nullable.columns = preserved.columns;
    EXPECT_EQ(WriterConcurrencyOf(nullable, 1), WriterConcurrency::Exclusive);
    EXPECT_EQ(ContentionRank(nullable), 1);
    ViewDefinition full = nullable;
    full.join_tree->kind = JoinTree::Kind::Full;
    EXPECT_EQ(WriterConcurrencyOf(full, 1), WriterConcurrency::Exclusive);
}

// SELECT 1 AS present WHERE EXISTS (SELECT 1 FROM a WHERE a.k = 3): the
// semi-join's left side is the one-row relation without columns.
TEST(ConstantRelationJoinTree, ViewWithoutFromReadsTheUnitRelation) {
    ViewDefinition v;
    v.immv = {"public", "mv"};
    v.relations.push_back({{"public", "a"}, "a", 1, {}});
    v.constants.push_back(UnitRelation());
    JoinTree unit, relation, semi;
    unit.kind = JoinTree::Kind::Constant;
    semi.kind = JoinTree::Kind::Semi;
    semi.condition_sql = "(a.k = 3)";
    semi.children = {unit, relation};
    v.join_tree = semi;
    v.columns = {Plain("present", "1")};
    EXPECT_TRUE(NamesConstant(*v.join_tree, 0));
    EXPECT_FALSE(NamesConstant(*v.join_tree, 1));
    EXPECT_NO_THROW(ValidateJoinTree(v));
    EXPECT_EQ(ConstantFromItem(UnitRelation()), "(SELECT) AS __ivm_unit");
    EXPECT_EQ(PopulateQuery(v),
              "SELECT 1 AS \"present\" FROM (SELECT) AS __ivm_unit WHERE EXISTS (SELECT 1 FROM \"public\".\"a\" AS a "
              "WHERE (a.k = 3))");
    const Delta d = BuildDelta(v, {{0, "ins", "del"}});
    ASSERT_EQ(d.streams.size(), 2u);
    // The root's delta carries no column of the unit relation, only the sign.
    EXPECT_TRUE(Contains(d.with_items.back(), "SELECT (CASE WHEN"));
    for (const auto& stream : d.streams)
        EXPECT_TRUE(Contains(stream.from_sql, "CROSS JOIN LATERAL (SELECT ) AS __ivm_unit"));
    // Whether the one row is there is derived from a's state.
    EXPECT_EQ(WriterConcurrencyOf(v, 1), WriterConcurrency::Exclusive);
}

TEST(ConstantRelationJoinTree, EveryConstantIsNamedOnce) {
    ViewDefinition v = LeftJoin(false);
    v.constants.push_back(Series());
    EXPECT_THROW(ValidateJoinTree(v), Error);  // the second constant is not in the tree
    v.constants.pop_back();
    v.join_tree->children[1].occurrence = 1;  // no constant 1
    EXPECT_THROW(ValidateJoinTree(v), Error);
}

}  // namespace
}  // namespace ivmx::core
