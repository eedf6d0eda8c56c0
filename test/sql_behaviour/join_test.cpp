// Views over several tables: inner joins (written in FROM / WHERE, every
// occurrence a relation of the FROM list), self-joins, and join trees (outer
// joins, EXISTS / NOT EXISTS), maintained after random statements,
// transactions and statements changing two tables at once.
#include "immediate_run.hpp"

namespace ivmx::sqlb {
namespace {

using core::AggregateKind;
using core::JoinTree;
using core::ViewShape;

core::ViewDefinition View(ViewShape shape, std::vector<core::BaseRelation> relations) {
    core::ViewDefinition v;
    v.immv = {"s", "mv"};
    v.relations = std::move(relations);
    v.shape = shape;
    return v;
}

class Joins : public BehaviourTest {
  protected:
    void Run(core::ViewDefinition view, const std::string& expected, std::vector<TableSpec> tables) {
        Immv immv(std::move(view), expected);
        RunImmediate(immv, tables, gen(), Repro(), ImmediateOptions{}, 10);
    }
};

// ---- inner joins ----

// SELECT a.id, b.bid, a.v, b.name FROM acc a, br b WHERE a.g = b.g: rows
// identified by both primary keys.
TEST_F(Joins, InnerJoinBagWithRowKeys) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a", {"id", "g", "v"}), Relation(Br(), "b", {"bid", "g", "name"})});
    v.where_sql = "(a.g = b.g)";
    v.columns = {Plain("id", "a.id", true), Plain("bid", "b.bid", true), Plain("v", "a.v"), Plain("name", "b.name")};
    v.row_key_columns = {"id", "bid"};
    Run(v, "SELECT a.id, b.bid, a.v, b.name FROM {acc} a, {br} b WHERE a.g = b.g", {Acc(), Br()});
}

TEST_F(Joins, InnerJoinBagWithoutKey) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a", {"g", "v"}), Relation(Br(), "b", {"g", "name"})});
    v.where_sql = "(a.g = b.g)";
    v.columns = {Plain("v", "a.v"), Plain("name", "b.name")};
    Run(v, "SELECT a.v, b.name FROM {acc} a JOIN {br} b ON a.g = b.g", {Acc(), Br()});
}

TEST_F(Joins, InnerJoinGroupedWithMinMax) {
    auto v = View(ViewShape::Grouped, {Relation(Acc(), "a", {"g", "v"}), Relation(Br(), "b", {"g", "name", "x"})});
    v.where_sql = "(a.g = b.g)";
    v.columns = {GroupKey("name", "b.name"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer"),
                 Aggregate("hi", AggregateKind::Max, "b.x", "integer", "integer")};
    Run(v, "SELECT b.name, count(*), sum(a.v), min(a.v), max(b.x) FROM {acc} a, {br} b WHERE a.g = b.g GROUP BY b.name",
        {Acc(), Br()});
}

TEST_F(Joins, ThreeTableJoinGrouped) {
    auto v = View(ViewShape::Grouped, {Relation(Acc(), "a", {"g", "v"}), Relation(Br(), "b", {"bid", "g"}),
                                       Relation(Cc(), "c", {"bid", "y"})});
    v.where_sql = "((a.g = b.g) AND (c.bid = b.bid))";
    v.columns = {GroupKey("g", "b.g"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("s", AggregateKind::Sum, "c.y", "integer", "bigint"),
                 Aggregate("m", AggregateKind::Avg, "a.v", "integer", "numeric")};
    Run(v,
        "SELECT b.g, count(*), sum(c.y), avg(a.v) FROM {acc} a, {br} b, {cc} c WHERE a.g = b.g AND c.bid = b.bid "
        "GROUP BY b.g",
        {Acc(), Br(), Cc()});
}

TEST_F(Joins, InnerJoinDistinct) {
    auto v = View(ViewShape::Distinct, {Relation(Acc(), "a", {"g", "h"}), Relation(Br(), "b", {"g", "name"})});
    v.where_sql = "(a.g = b.g)";
    v.columns = {GroupKey("name", "b.name"), GroupKey("h", "a.h")};
    Run(v, "SELECT DISTINCT b.name, a.h FROM {acc} a, {br} b WHERE a.g = b.g", {Acc(), Br()});
}

TEST_F(Joins, InnerJoinGlobalAggregate) {
    auto v = View(ViewShape::GlobalAggregate, {Relation(Acc(), "a", {"g", "v"}), Relation(Br(), "b", {"g", "x"})});
    v.where_sql = "(a.g = b.g)";
    v.columns = {Aggregate("n", AggregateKind::CountStar),
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("hi", AggregateKind::Max, "b.x", "integer", "integer")};
    Run(v, "SELECT count(*), sum(a.v), max(b.x) FROM {acc} a, {br} b WHERE a.g = b.g", {Acc(), Br()});
}

// A cross join with a condition on one side only.
TEST_F(Joins, CrossJoinBag) {
    auto v = View(ViewShape::Bag, {Relation(Br(), "b", {"bid", "x"}), Relation(Cc(), "c", {"cid", "y"})});
    v.where_sql = "(b.x > c.y)";
    v.columns = {Plain("bid", "b.bid", true), Plain("cid", "c.cid", true)};
    v.row_key_columns = {"bid", "cid"};
    Run(v, "SELECT b.bid, c.cid FROM {br} b, {cc} c WHERE b.x > c.y", {Br(), Cc()});
}

// ---- self-joins: a statement changes several occurrences at once ----

TEST_F(Joins, SelfJoinBagWithRowKeys) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "x", {"id", "g"}), Relation(Acc(), "y", {"id", "g"})});
    v.where_sql = "((x.g = y.g) AND (x.id < y.id))";
    v.columns = {Plain("xid", "x.id", true), Plain("yid", "y.id", true)};
    v.row_key_columns = {"xid", "yid"};
    Run(v, "SELECT x.id, y.id FROM {acc} x, {acc} y WHERE x.g = y.g AND x.id < y.id", {Acc()});
}

TEST_F(Joins, SelfJoinBagWithoutKey) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "x", {"g", "v"}), Relation(Acc(), "y", {"g", "h"})});
    v.where_sql = "(x.g = y.g)";
    v.columns = {Plain("v", "x.v"), Plain("h", "y.h")};
    Run(v, "SELECT x.v, y.h FROM {acc} x, {acc} y WHERE x.g = y.g", {Acc()});
}

TEST_F(Joins, SelfJoinGrouped) {
    auto v = View(ViewShape::Grouped, {Relation(Acc(), "x", {"g", "v"}), Relation(Acc(), "y", {"h", "v"})});
    v.where_sql = "(x.v = y.v)";
    v.columns = {GroupKey("g", "x.g"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("lo", AggregateKind::Min, "y.h", "text", "text")};
    Run(v, "SELECT x.g, count(*), min(y.h) FROM {acc} x, {acc} y WHERE x.v = y.v GROUP BY x.g", {Acc()});
}

// ---- join trees: outer joins ----

// SELECT a.id, a.v, b.bid, b.name FROM acc a LEFT JOIN br b ON a.g = b.g
TEST_F(Joins, LeftJoinBag) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.columns = {Plain("id", "a.id"), Plain("v", "a.v"), Plain("bid", "b.bid"), Plain("name", "b.name")};
    Run(v, "SELECT a.id, a.v, b.bid, b.name FROM {acc} a LEFT JOIN {br} b ON a.g = b.g", {Acc(), Br()});
}

// FROM acc a RIGHT JOIN br b ON a.g = b.g AND a.v > 0 arrives as br LEFT JOIN acc.
TEST_F(Joins, RightJoinBag) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(1), Leaf(0), "((a.g = b.g) AND (a.v > 0))");
    v.columns = {Plain("id", "a.id"), Plain("bid", "b.bid"), Plain("name", "b.name")};
    Run(v, "SELECT a.id, b.bid, b.name FROM {acc} a RIGHT JOIN {br} b ON a.g = b.g AND a.v > 0", {Acc(), Br()});
}

TEST_F(Joins, FullJoinBag) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b")});
    v.join_tree = Join(JoinTree::Kind::Full, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.columns = {Plain("id", "a.id"), Plain("h", "a.h"), Plain("bid", "b.bid"), Plain("name", "b.name")};
    Run(v, "SELECT a.id, a.h, b.bid, b.name FROM {acc} a FULL JOIN {br} b ON a.g = b.g", {Acc(), Br()});
}

TEST_F(Joins, LeftJoinGrouped) {
    auto v = View(ViewShape::Grouped, {Relation(Br(), "b"), Relation(Acc(), "a")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.columns = {GroupKey("name", "b.name"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("na", AggregateKind::Count, "a.id", "integer"),
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer")};
    Run(v,
        "SELECT b.name, count(*), count(a.id), sum(a.v), max(a.v) FROM {br} b LEFT JOIN {acc} a ON a.g = b.g "
        "GROUP BY b.name",
        {Acc(), Br()});
}

// Filters over the nullable side of a left join, and an expression over
// the aggregates: SELECT b.name, count(a.id) FILTER (WHERE a.v > 0),
// sum(a.v) FILTER (WHERE a.h IS NOT NULL), count(*) - count(a.id) FROM br b
// LEFT JOIN acc a ON a.g = b.g GROUP BY b.name
TEST_F(Joins, LeftJoinGroupedWithFiltersAndExpression) {
    auto v = View(ViewShape::Grouped, {Relation(Br(), "b"), Relation(Acc(), "a")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.columns = {GroupKey("name", "b.name"),                                                                     // 0
                 Filtered(Aggregate("pos", AggregateKind::Count, "a.id", "integer"), "(a.v > 0)"),               // 1
                 Filtered(Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"), "(a.h IS NOT NULL)"),  // 2
                 Expression("unmatched", "($1 - $2)", {4, 5}),                                                   // 3
                 Hidden(Aggregate("__ivm_agg_1__", AggregateKind::CountStar)),                                   // 4
                 Hidden(Aggregate("__ivm_agg_2__", AggregateKind::Count, "a.id", "integer"))};                   // 5
    Run(v,
        "SELECT b.name, count(a.id) FILTER (WHERE a.v > 0), sum(a.v) FILTER (WHERE a.h IS NOT NULL), "
        "count(*) - count(a.id) FROM {br} b LEFT JOIN {acc} a ON a.g = b.g GROUP BY b.name",
        {Acc(), Br()});
}

// Lists over the nullable side of a left join: a dangling row is one
// NULL element.
TEST_F(Joins, LeftJoinGroupedLists) {
    auto v = View(ViewShape::Grouped, {Relation(Br(), "b"), Relation(Acc(), "a")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.columns = {
        GroupKey("name", "b.name"),
        CalledAggregate("ids", AggregateKind::ArrayAgg, "a.id", "integer", "integer[]", "a.id ORDER BY a.id, b.bid"),
        CalledAggregate("hs", AggregateKind::StringAgg, "a.h", "text", "text", "a.h, ','::text ORDER BY a.id, b.bid"),
        Aggregate("x", AggregateKind::BitXor, "a.v", "integer", "integer"),
        Aggregate("sd", AggregateKind::StddevPop, "a.v", "integer", "numeric")};
    Run(v,
        "SELECT b.name, array_agg(a.id ORDER BY a.id, b.bid), string_agg(a.h, ',' ORDER BY a.id, b.bid), "
        "bit_xor(a.v), stddev_pop(a.v) FROM {br} b LEFT JOIN {acc} a ON a.g = b.g GROUP BY b.name",
        {Acc(), Br()});
}

TEST_F(Joins, FullJoinDistinct) {
    auto v = View(ViewShape::Distinct, {Relation(Acc(), "a"), Relation(Br(), "b")});
    v.join_tree = Join(JoinTree::Kind::Full, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.columns = {GroupKey("h", "a.h"), GroupKey("name", "b.name")};
    Run(v, "SELECT DISTINCT a.h, b.name FROM {acc} a FULL JOIN {br} b ON a.g = b.g", {Acc(), Br()});
}

// A top-level WHERE over the nullable side.
TEST_F(Joins, LeftJoinWithWhereOnNullableSide) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.where_sql = "((b.x IS NULL) OR (b.x > 0))";
    v.columns = {Plain("id", "a.id"), Plain("x", "b.x")};
    Run(v, "SELECT a.id, b.x FROM {acc} a LEFT JOIN {br} b ON a.g = b.g WHERE b.x IS NULL OR b.x > 0", {Acc(), Br()});
}

// acc a LEFT JOIN (br b JOIN cc c ON c.bid = b.bid) ON a.g = b.g
TEST_F(Joins, LeftJoinOfAnInnerJoin) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b"), Relation(Cc(), "c")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), Join(JoinTree::Kind::Inner, Leaf(1), Leaf(2), "(c.bid = b.bid)"),
                       "(a.g = b.g)");
    v.columns = {Plain("id", "a.id"), Plain("bid", "b.bid"), Plain("cid", "c.cid")};
    Run(v, "SELECT a.id, b.bid, c.cid FROM {acc} a LEFT JOIN ({br} b JOIN {cc} c ON c.bid = b.bid) ON a.g = b.g",
        {Acc(), Br(), Cc()});
}

// (acc a LEFT JOIN br b ON a.g = b.g) LEFT JOIN cc c ON c.bid = b.bid
TEST_F(Joins, ChainOfLeftJoinsGrouped) {
    auto v = View(ViewShape::Grouped, {Relation(Acc(), "a"), Relation(Br(), "b"), Relation(Cc(), "c")});
    v.join_tree = Join(JoinTree::Kind::Left, Join(JoinTree::Kind::Left, Leaf(0), Leaf(1), "(a.g = b.g)"), Leaf(2),
                       "(c.bid = b.bid)");
    v.columns = {GroupKey("g", "a.g"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("nb", AggregateKind::Count, "b.bid", "integer"),
                 Aggregate("sy", AggregateKind::Sum, "c.y", "integer", "bigint")};
    Run(v,
        "SELECT a.g, count(*), count(b.bid), sum(c.y) FROM ({acc} a LEFT JOIN {br} b ON a.g = b.g) "
        "LEFT JOIN {cc} c ON c.bid = b.bid GROUP BY a.g",
        {Acc(), Br(), Cc()});
}

// acc x LEFT JOIN acc y ON x.g = y.g AND x.id <> y.id: one relation on
// both sides.
TEST_F(Joins, SelfLeftJoin) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "x"), Relation(Acc(), "y")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), Leaf(1), "((x.g = y.g) AND (x.id <> y.id))");
    v.columns = {Plain("xid", "x.id"), Plain("yid", "y.id")};
    Run(v, "SELECT x.id, y.id FROM {acc} x LEFT JOIN {acc} y ON x.g = y.g AND x.id <> y.id", {Acc()});
}

// An outer join under an inner join with a cross-joined relation of the
// FROM list: br b, (acc a LEFT JOIN cc c ON c.bid = a.g) WHERE b.g = a.g
TEST_F(Joins, OuterJoinInsideFromList) {
    auto v = View(ViewShape::Bag, {Relation(Br(), "b"), Relation(Acc(), "a"), Relation(Cc(), "c")});
    v.join_tree =
        Join(JoinTree::Kind::Inner, Leaf(0), Join(JoinTree::Kind::Left, Leaf(1), Leaf(2), "(c.bid = a.g)"), "");
    v.where_sql = "(b.g = a.g)";
    v.columns = {Plain("bid", "b.bid"), Plain("id", "a.id"), Plain("cid", "c.cid")};
    Run(v, "SELECT b.bid, a.id, c.cid FROM {br} b, {acc} a LEFT JOIN {cc} c ON c.bid = a.g WHERE b.g = a.g",
        {Acc(), Br(), Cc()});
}

// acc a LEFT JOIN (SELECT * FROM br b WHERE b.x > 0) b: a filter on the
// nullable side, below the join.
TEST_F(Joins, LeftJoinOfFilteredSide) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b")});
    core::JoinTree filter;
    filter.kind = JoinTree::Kind::Filter;
    filter.condition_sql = "(b.x > 0)";
    filter.children.push_back(Leaf(1));
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), filter, "(a.g = b.g)");
    v.columns = {Plain("id", "a.id"), Plain("bid", "b.bid"), Plain("x", "b.x")};
    Run(v, "SELECT a.id, b.bid, b.x FROM {acc} a LEFT JOIN (SELECT * FROM {br} b WHERE b.x > 0) b ON a.g = b.g",
        {Acc(), Br()});
}

// ---- join trees: EXISTS / NOT EXISTS ----

// SELECT a.id, a.v FROM acc a WHERE EXISTS (SELECT 1 FROM br b WHERE b.g = a.g AND b.x > 0)
TEST_F(Joins, Exists) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b")});
    v.join_tree = Join(JoinTree::Kind::Semi, Leaf(0), Leaf(1), "((b.g = a.g) AND (b.x > 0))");
    v.columns = {Plain("id", "a.id"), Plain("v", "a.v")};
    Run(v, "SELECT a.id, a.v FROM {acc} a WHERE EXISTS (SELECT 1 FROM {br} b WHERE b.g = a.g AND b.x > 0)",
        {Acc(), Br()});
}

TEST_F(Joins, NotExists) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b")});
    v.join_tree = Join(JoinTree::Kind::Anti, Leaf(0), Leaf(1), "(b.g = a.g)");
    v.where_sql = "(a.v IS NOT NULL)";
    v.columns = {Plain("id", "a.id"), Plain("g", "a.g"), Plain("v", "a.v")};
    Run(v,
        "SELECT a.id, a.g, a.v FROM {acc} a WHERE NOT EXISTS (SELECT 1 FROM {br} b WHERE b.g = a.g) "
        "AND a.v IS NOT NULL",
        {Acc(), Br()});
}

TEST_F(Joins, NotExistsGrouped) {
    auto v = View(ViewShape::Grouped, {Relation(Acc(), "a"), Relation(Br(), "b")});
    v.join_tree = Join(JoinTree::Kind::Anti, Leaf(0), Leaf(1), "((b.g = a.g) AND (b.x >= a.v))");
    v.columns = {GroupKey("h", "a.h"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer")};
    Run(v,
        "SELECT a.h, count(*), min(a.v) FROM {acc} a WHERE NOT EXISTS "
        "(SELECT 1 FROM {br} b WHERE b.g = a.g AND b.x >= a.v) GROUP BY a.h",
        {Acc(), Br()});
}

TEST_F(Joins, ExistsDistinct) {
    auto v = View(ViewShape::Distinct, {Relation(Br(), "b"), Relation(Acc(), "a")});
    v.join_tree = Join(JoinTree::Kind::Semi, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.columns = {GroupKey("name", "b.name")};
    Run(v, "SELECT DISTINCT b.name FROM {br} b WHERE EXISTS (SELECT 1 FROM {acc} a WHERE a.g = b.g)", {Acc(), Br()});
}

// SELECT b.bid FROM br b WHERE EXISTS (acc a: a.g = b.g) AND NOT EXISTS (cc c: c.bid = b.bid)
TEST_F(Joins, ExistsAndNotExists) {
    auto v = View(ViewShape::Bag, {Relation(Br(), "b"), Relation(Acc(), "a"), Relation(Cc(), "c")});
    v.join_tree = Join(JoinTree::Kind::Anti, Join(JoinTree::Kind::Semi, Leaf(0), Leaf(1), "(a.g = b.g)"), Leaf(2),
                       "(c.bid = b.bid)");
    v.columns = {Plain("bid", "b.bid"), Plain("x", "b.x")};
    Run(v,
        "SELECT b.bid, b.x FROM {br} b WHERE EXISTS (SELECT 1 FROM {acc} a WHERE a.g = b.g) "
        "AND NOT EXISTS (SELECT 1 FROM {cc} c WHERE c.bid = b.bid)",
        {Acc(), Br(), Cc()});
}

// EXISTS over a join: SELECT a.id FROM acc a WHERE EXISTS (SELECT 1 FROM br b JOIN cc c ON ... WHERE b.g = a.g)
TEST_F(Joins, ExistsOverAJoin) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b"), Relation(Cc(), "c")});
    v.join_tree = Join(JoinTree::Kind::Semi, Leaf(0), Join(JoinTree::Kind::Inner, Leaf(1), Leaf(2), "(c.bid = b.bid)"),
                       "(b.g = a.g)");
    v.columns = {Plain("id", "a.id"), Plain("h", "a.h")};
    Run(v,
        "SELECT a.id, a.h FROM {acc} a WHERE EXISTS (SELECT 1 FROM {br} b JOIN {cc} c ON c.bid = b.bid "
        "WHERE b.g = a.g)",
        {Acc(), Br(), Cc()});
}

// A left join whose nullable side is filtered by NOT EXISTS.
TEST_F(Joins, LeftJoinOfNotExists) {
    auto v = View(ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b"), Relation(Cc(), "c")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), Join(JoinTree::Kind::Anti, Leaf(1), Leaf(2), "(c.bid = b.bid)"),
                       "(a.g = b.g)");
    v.columns = {Plain("id", "a.id"), Plain("bid", "b.bid")};
    Run(v,
        "SELECT a.id, b.bid FROM {acc} a LEFT JOIN (SELECT * FROM {br} b WHERE NOT EXISTS "
        "(SELECT 1 FROM {cc} c WHERE c.bid = b.bid)) b ON a.g = b.g",
        {Acc(), Br(), Cc()});
}

}  // namespace
}  // namespace ivmx::sqlb
