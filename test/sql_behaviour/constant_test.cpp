// (The defining queries spell arrays ARRAY[...]: {name} names a table there.)
//
// Views reading constant relations (functions in FROM over constants:
// generate_series, unnest, ROWS FROM ... WITH ORDINALITY) with tables, in
// FROM lists and on either side of outer joins, maintained after random
// statements and transactions: the function is read in full by every
// delta term and is never a changed occurrence.
#include "immediate_run.hpp"

namespace ivmx::sqlb {
namespace {

using core::AggregateKind;
using core::JoinTree;
using core::ViewShape;

core::ViewDefinition View(ViewShape shape, std::vector<core::BaseRelation> relations,
                          std::vector<core::ConstantRelation> constants) {
    core::ViewDefinition v;
    v.immv = {"s", "mv"};
    v.relations = std::move(relations);
    v.constants = std::move(constants);
    v.shape = shape;
    return v;
}

// generate_series(first, last) AS <alias>(<column>)
core::ConstantRelation Series(int first, int last, const std::string& alias, const std::string& column) {
    return {"ROWS FROM (generate_series(" + std::to_string(first) + ", " + std::to_string(last) + "))",
            alias,
            {{column, "integer"}}};
}

JoinTree ConstantLeaf(size_t constant) {
    JoinTree t;
    t.kind = JoinTree::Kind::Constant;
    t.occurrence = constant;
    return t;
}

class Constants : public BehaviourTest {
  protected:
    void Run(core::ViewDefinition view, const std::string& expected, std::vector<TableSpec> tables) {
        Immv immv(std::move(view), expected);
        RunImmediate(immv, tables, gen(), Repro(), ImmediateOptions{}, 10);
    }
};

// SELECT a.id, a.g, i.i FROM acc a, generate_series(1, 2) i: the keys of
// acc do not identify the rows (each comes twice), matched by value.
TEST_F(Constants, CrossJoinBag) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a", {"id", "g"})}, {Series(1, 2, "i", "i")});
    v.columns = {Plain("id", "a.id", true), Plain("g", "a.g"), Plain("i", "i.i")};
    Run(v, "SELECT a.id, a.g, i.i FROM {acc} a, generate_series(1, 2) i", {Acc()});
}

// An array with duplicates and a NULL, joined on a nullable key, grouped.
TEST_F(Constants, UnnestJoinGroupedWithMinMax) {
    core::ConstantRelation unnest{"ROWS FROM (unnest('{1,2,2,NULL}'::integer[]))", "u", {{"u", "integer"}}};
    auto v = View(ViewShape::Grouped, {Relation(Acc(), "a", {"g", "v", "h"})}, {unnest});
    v.where_sql = "(u.u = a.g)";
    v.columns = {GroupKey("u", "u.u"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("lo", AggregateKind::Min, "a.h", "text", "text")};
    Run(v,
        "SELECT u, count(*), sum(a.v), min(a.h) FROM {acc} a JOIN unnest(ARRAY[1, 2, 2, NULL]) u ON u = a.g "
        "GROUP BY u",
        {Acc()});
}

// Two tables and a function in one FROM list, grouped by the function.
TEST_F(Constants, TwoTablesAndSeriesGrouped) {
    auto v = View(ViewShape::Grouped, {Relation(Acc(), "a", {"g", "v"}), Relation(Br(), "b", {"g", "x"})},
                  {Series(0, 2, "k", "k")});
    v.where_sql = "((a.g = b.g) AND (b.x > k.k))";
    v.columns = {GroupKey("k", "k.k"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer")};
    Run(v,
        "SELECT k, count(*), max(a.v) FROM {acc} a, {br} b, generate_series(0, 2) k WHERE a.g = b.g AND b.x > k "
        "GROUP BY k",
        {Acc(), Br()});
}

// generate_series(1, 4) s(i) LEFT JOIN acc a ON a.g = s.i GROUP BY s.i:
// the function on the preserved side; its rows lose and regain matches.
TEST_F(Constants, SeriesLeftJoinTableGrouped) {
    auto v = View(ViewShape::Grouped, {Relation(Acc(), "a")}, {Series(1, 4, "s", "i")});
    v.join_tree = Join(JoinTree::Kind::Left, ConstantLeaf(0), Leaf(0), "(a.g = s.i)");
    v.columns = {GroupKey("i", "s.i"), Aggregate("n", AggregateKind::Count, "a.id", "integer", "bigint"),
                 Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer")};
    Run(v,
        "SELECT s.i, count(a.id), max(a.v) FROM generate_series(1, 4) s(i) LEFT JOIN {acc} a ON a.g = s.i GROUP BY s.i",
        {Acc()});
}

// br b LEFT JOIN ROWS FROM (generate_series(1, 3), unnest('{x,y}')) WITH
// ORDINALITY r(a, t, o) ON r.a = b.g: the function on the nullable side,
// its columns NULL in dangling rows.
TEST_F(Constants, TableLeftJoinRowsFromBag) {
    core::ConstantRelation rows{"ROWS FROM (generate_series(1, 3), unnest('{x,y}'::text[])) WITH ORDINALITY",
                                "r",
                                {{"a", "integer"}, {"t", "text"}, {"o", "bigint"}}};
    auto v = View(ViewShape::Bag, {Relation(Br(), "b")}, {rows});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), ConstantLeaf(0), "(r.a = b.g)");
    v.columns = {Plain("bid", "b.bid"), Plain("a", "r.a"), Plain("t", "r.t"), Plain("o", "r.o")};
    Run(v,
        "SELECT b.bid, r.a, r.t, r.o FROM {br} b LEFT JOIN ROWS FROM (generate_series(1, 3), "
        "unnest(ARRAY['x', 'y'])) WITH ORDINALITY r(a, t, o) ON r.a = b.g",
        {Br()});
}

// SELECT DISTINCT a.g, s.i FROM acc a FULL JOIN generate_series(1, 3) s(i)
TEST_F(Constants, FullJoinDistinct) {
    auto v = View(ViewShape::Distinct, {Relation(Acc(), "a")}, {Series(1, 3, "s", "i")});
    v.join_tree = Join(JoinTree::Kind::Full, Leaf(0), ConstantLeaf(0), "(a.g = s.i)");
    v.columns = {GroupKey("g", "a.g"), GroupKey("i", "s.i")};
    Run(v, "SELECT DISTINCT a.g, s.i FROM {acc} a FULL JOIN generate_series(1, 3) s(i) ON a.g = s.i", {Acc()});
}

// Rows of acc with a match in a constant array (EXISTS), none in a table
// (NOT EXISTS).
TEST_F(Constants, ExistsOverUnnest) {
    core::ConstantRelation unnest{"ROWS FROM (unnest('{1,3}'::integer[]))", "u", {{"u", "integer"}}};
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b")}, {unnest});
    v.join_tree = Join(JoinTree::Kind::Anti, Join(JoinTree::Kind::Semi, Leaf(0), ConstantLeaf(0), "(u.u = a.g)"),
                       Leaf(1), "(b.x = a.v)");
    v.columns = {Plain("id", "a.id"), Plain("g", "a.g")};
    Run(v,
        "SELECT a.id, a.g FROM {acc} a WHERE EXISTS (SELECT 1 FROM unnest(ARRAY[1, 3]) u WHERE u = a.g) "
        "AND NOT EXISTS (SELECT 1 FROM {br} b WHERE b.x = a.v)",
        {Acc(), Br()});
}

// SELECT 1 AS present WHERE EXISTS (SELECT 1 FROM acc a WHERE a.g = 1) AND
// NOT EXISTS (SELECT 1 FROM br b WHERE b.x = 3): without FROM, the join
// tree's left side is the one-row relation; the row comes and goes.
TEST_F(Constants, WithoutFromUnderExists) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b")}, {core::UnitRelation()});
    v.join_tree = Join(JoinTree::Kind::Anti, Join(JoinTree::Kind::Semi, ConstantLeaf(0), Leaf(0), "(a.g = 1)"), Leaf(1),
                       "(b.x = 3)");
    v.columns = {Plain("present", "1")};
    Run(v,
        "SELECT 1 AS present WHERE EXISTS (SELECT 1 FROM {acc} a WHERE a.g = 1) "
        "AND NOT EXISTS (SELECT 1 FROM {br} b WHERE b.x = 3)",
        {Acc(), Br()});
}

// SELECT count(*) WHERE EXISTS (...): one row always, counting 0 or 1.
TEST_F(Constants, GlobalAggregateWithoutFromUnderExists) {
    auto v = View(ViewShape::GlobalAggregate, {Relation(Acc(), "a")}, {core::UnitRelation()});
    v.join_tree = Join(JoinTree::Kind::Semi, ConstantLeaf(0), Leaf(0), "(a.v > 4)");
    v.columns = {Aggregate("n", AggregateKind::CountStar)};
    Run(v, "SELECT count(*) WHERE EXISTS (SELECT 1 FROM {acc} a WHERE a.v > 4)", {Acc()});
}

}  // namespace
}  // namespace ivmx::sqlb
