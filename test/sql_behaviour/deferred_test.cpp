// Deferred refreshes replayed on delta logs (deferred_run.hpp): each view
// shape refreshed from batches of logged transactions committed out of id
// order, split batches, own flushes, and logs shared by several IMMVs.
#include "deferred_run.hpp"

namespace ivmx::sqlb {
namespace {

using core::AggregateKind;
using core::JoinTree;
using core::ViewShape;

core::ViewDefinition View(const std::string& name, ViewShape shape, std::vector<core::BaseRelation> relations) {
    core::ViewDefinition v;
    v.immv = {"s", name};
    v.relations = std::move(relations);
    v.shape = shape;
    return v;
}

class Deferred : public BehaviourTest {
  protected:
    void Run(core::ViewDefinition view, const std::string& expected, std::vector<TableSpec> tables,
             DeferredOptions options = {}) {
        Immv immv(std::move(view), expected);
        RunDeferred({&immv}, tables, gen(), Repro(), options);
    }
};

// min/max lost in a split batch are recomputed from the relation as of the
// batch's end (RelationBefore), not as it is now.
TEST_F(Deferred, GroupedWithMinMaxAndSplitBatches) {
    auto v = View("mv", ViewShape::Grouped, {Relation(Acc(), "a", {"g", "v"})});
    v.columns = {GroupKey("g", "a.g"),
                 Aggregate("n", AggregateKind::CountStar),
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("m", AggregateKind::Avg, "a.v", "integer", "numeric"),
                 Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer"),
                 Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer")};
    Run(v, "SELECT g, count(*), sum(v), avg(v), min(v), max(v) FROM {acc} GROUP BY g", {Acc()});
}

// Numeric and float columns are netted by their text image.
TEST_F(Deferred, GroupedNumericAndFloatWithNonFiniteValues) {
    auto v = View("mv", ViewShape::Grouped, {Relation(Acc(), "a", {"h", "w", "f"})});
    v.columns = {GroupKey("h", "a.h"), Aggregate("sw", AggregateKind::Sum, "a.w", "numeric", "numeric"),
                 Aggregate("af", AggregateKind::Avg, "a.f", "double precision", "double precision"),
                 Aggregate("hw", AggregateKind::Max, "a.w", "numeric", "numeric"),
                 Aggregate("lf", AggregateKind::Min, "a.f", "double precision", "double precision")};
    DeferredOptions options;
    options.non_finite = true;
    Run(v, "SELECT h, sum(w), avg(f), max(w), min(f) FROM {acc} GROUP BY h", {Acc()}, options);
}

// Lists and float variances of groups a split batch reaches are
// recomputed from the relation as of the batch's end.
TEST_F(Deferred, ListsXorAndDeviationsWithSplitBatches) {
    auto v = View("mv", ViewShape::Grouped, {Relation(Acc(), "a", {"id", "g", "h", "v", "w", "f"})});
    v.columns = {GroupKey("g", "a.g"),
                 CalledAggregate("l", AggregateKind::StringAgg, "a.h", "text", "text", "a.h, ','::text ORDER BY a.id"),
                 CalledAggregate("vs", AggregateKind::ArrayAgg, "a.v", "integer", "integer[]", "a.v ORDER BY a.id"),
                 Aggregate("x", AggregateKind::BitXor, "a.v", "integer", "integer"),
                 Aggregate("sd", AggregateKind::StddevSamp, "a.w", "numeric", "numeric"),
                 Aggregate("vf", AggregateKind::VarSamp, "a.f", "double precision", "double precision")};
    Run(v,
        "SELECT g, string_agg(h, ',' ORDER BY id), array_agg(v ORDER BY id), bit_xor(v), stddev_samp(w), "
        "var_samp(f) FROM {acc} GROUP BY g",
        {Acc()});
}

TEST_F(Deferred, GlobalAggregateWithSplitBatches) {
    auto v = View("mv", ViewShape::GlobalAggregate, {Relation(Acc(), "a", {"h", "v"})});
    v.columns = {Aggregate("n", AggregateKind::CountStar),
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer"),
                 Aggregate("hi", AggregateKind::Max, "a.h", "text", "text")};
    Run(v, "SELECT count(*), sum(v), min(v), max(h) FROM {acc}", {Acc()});
}

TEST_F(Deferred, Distinct) {
    auto v = View("mv", ViewShape::Distinct, {Relation(Acc(), "a", {"g", "h"})});
    v.columns = {GroupKey("g", "a.g"), GroupKey("h", "a.h")};
    Run(v, "SELECT DISTINCT g, h FROM {acc}", {Acc()});
}

// A batch netted by row key, applied like a statement (in place).
TEST_F(Deferred, BagWithRowKeyNettedByKey) {
    auto v = View("mv", ViewShape::Bag, {Relation(Acc(), "a", {"id", "g", "v"})});
    v.columns = {Plain("id", "a.id", true), Plain("g", "a.g"), Plain("v", "a.v")};
    v.row_key_columns = {"id"};
    Run(v, "SELECT id, g, v FROM {acc}", {Acc()});
}

// The same with numeric and float columns: netted by image, where 1.0 and
// 1.00 are different rows.
TEST_F(Deferred, BagWithRowKeyOfNumericAndFloat) {
    auto v = View("mv", ViewShape::Bag, {Relation(Acc(), "a", {"id", "w", "f"})});
    v.where_sql = "(a.w IS NOT NULL)";
    v.columns = {Plain("id", "a.id", true), Plain("w", "a.w"), Plain("f", "a.f")};
    v.row_key_columns = {"id"};
    Run(v, "SELECT id, w, f FROM {acc} WHERE w IS NOT NULL", {Acc()});
}

TEST_F(Deferred, BagWithoutKey) {
    auto v = View("mv", ViewShape::Bag, {Relation(Acc(), "a", {"g", "v"})});
    v.columns = {Plain("g", "a.g"), Plain("v", "a.v")};
    Run(v, "SELECT g, v FROM {acc}", {Acc()});
}

TEST_F(Deferred, BagWithoutKeyOfNumeric) {
    auto v = View("mv", ViewShape::Bag, {Relation(Acc(), "a", {"h", "w"})});
    v.columns = {Plain("w", "a.w"), Plain("h", "a.h")};
    Run(v, "SELECT w, h FROM {acc}", {Acc()});
}

// Both logs of a join changed in one batch: their netted changes join each
// other.
TEST_F(Deferred, InnerJoinGrouped) {
    auto v = View("mv", ViewShape::Grouped, {Relation(Acc(), "a", {"g", "v"}), Relation(Br(), "b", {"g", "name"})});
    v.where_sql = "(a.g = b.g)";
    v.columns = {GroupKey("name", "b.name"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("s", AggregateKind::Sum, "a.v", "integer", "bigint"),
                 Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer")};
    Run(v, "SELECT b.name, count(*), sum(a.v), max(a.v) FROM {acc} a, {br} b WHERE a.g = b.g GROUP BY b.name",
        {Acc(), Br()});
}

TEST_F(Deferred, InnerJoinBagWithRowKeys) {
    auto v = View("mv", ViewShape::Bag, {Relation(Acc(), "a", {"id", "g", "v"}), Relation(Br(), "b", {"bid", "g"})});
    v.where_sql = "(a.g = b.g)";
    v.columns = {Plain("id", "a.id", true), Plain("bid", "b.bid", true), Plain("v", "a.v")};
    v.row_key_columns = {"id", "bid"};
    Run(v, "SELECT a.id, b.bid, a.v FROM {acc} a, {br} b WHERE a.g = b.g", {Acc(), Br()});
}

TEST_F(Deferred, SelfJoinBag) {
    auto v = View("mv", ViewShape::Bag, {Relation(Acc(), "x", {"id", "g"}), Relation(Acc(), "y", {"id", "g"})});
    v.where_sql = "((x.g = y.g) AND (x.id < y.id))";
    v.columns = {Plain("xid", "x.id", true), Plain("yid", "y.id", true)};
    v.row_key_columns = {"xid", "yid"};
    Run(v, "SELECT x.id, y.id FROM {acc} x, {acc} y WHERE x.g = y.g AND x.id < y.id", {Acc()});
}

// Join trees read whole rows of the batches.
TEST_F(Deferred, LeftJoinBag) {
    auto v = View("mv", ViewShape::Bag, {Relation(Acc(), "a"), Relation(Br(), "b")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.columns = {Plain("id", "a.id"), Plain("w", "a.w"), Plain("bid", "b.bid")};
    Run(v, "SELECT a.id, a.w, b.bid FROM {acc} a LEFT JOIN {br} b ON a.g = b.g", {Acc(), Br()});
}

TEST_F(Deferred, FullJoinGrouped) {
    auto v = View("mv", ViewShape::Grouped, {Relation(Acc(), "a"), Relation(Br(), "b")});
    v.join_tree = Join(JoinTree::Kind::Full, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.columns = {GroupKey("name", "b.name"), Aggregate("n", AggregateKind::CountStar),
                 Aggregate("na", AggregateKind::Count, "a.id", "integer"),
                 Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer")};
    Run(v, "SELECT b.name, count(*), count(a.id), min(a.v) FROM {acc} a FULL JOIN {br} b ON a.g = b.g GROUP BY b.name",
        {Acc(), Br()});
}

TEST_F(Deferred, ExistsAndNotExists) {
    auto v = View("mv", ViewShape::Bag, {Relation(Br(), "b"), Relation(Acc(), "a"), Relation(Cc(), "c")});
    v.join_tree = Join(JoinTree::Kind::Anti, Join(JoinTree::Kind::Semi, Leaf(0), Leaf(1), "(a.g = b.g)"), Leaf(2),
                       "(c.bid = b.bid)");
    v.columns = {Plain("bid", "b.bid"), Plain("name", "b.name")};
    Run(v,
        "SELECT b.bid, b.name FROM {br} b WHERE EXISTS (SELECT 1 FROM {acc} a WHERE a.g = b.g) "
        "AND NOT EXISTS (SELECT 1 FROM {cc} c WHERE c.bid = b.bid)",
        {Acc(), Br(), Cc()});
}

// FILTER and expressions over aggregates, with split batches: a recompute
// as of the batch's end reads the filtered rows of that state.
TEST_F(Deferred, FiltersAndExpressionsWithSplitBatches) {
    auto v = View("mv", ViewShape::Grouped, {Relation(Acc(), "a", {"g", "h", "v", "w"})});
    v.columns = {GroupKey("g", "a.g"),  // 0
                 Filtered(Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer"), "(a.h IS NOT NULL)"),
                 Filtered(Aggregate("sw", AggregateKind::Sum, "a.w", "numeric", "numeric"), "(a.v > 0)"),  // 2
                 Expression("spread", "($1 - $2)", {4, 1}),                                                // 3
                 Hidden(Aggregate("__ivm_agg_1__", AggregateKind::Max, "a.v", "integer", "integer"))};     // 4
    Run(v,
        "SELECT g, min(v) FILTER (WHERE h IS NOT NULL), sum(w) FILTER (WHERE v > 0), max(v) - min(v) FILTER "
        "(WHERE h IS NOT NULL) FROM {acc} GROUP BY g",
        {Acc()});
}

TEST_F(Deferred, LeftJoinGroupedWithFilter) {
    auto v = View("mv", ViewShape::Grouped, {Relation(Br(), "b"), Relation(Acc(), "a")});
    v.join_tree = Join(JoinTree::Kind::Left, Leaf(0), Leaf(1), "(a.g = b.g)");
    v.columns = {GroupKey("name", "b.name"),
                 Filtered(Aggregate("pos", AggregateKind::Count, "a.id", "integer"), "(a.v > 0)"),
                 Filtered(Aggregate("hi", AggregateKind::Max, "a.v", "integer", "integer"), "(a.h IS NOT NULL)")};
    Run(v,
        "SELECT b.name, count(a.id) FILTER (WHERE a.v > 0), max(a.v) FILTER (WHERE a.h IS NOT NULL) FROM {br} b "
        "LEFT JOIN {acc} a ON a.g = b.g GROUP BY b.name",
        {Acc(), Br()});
}

// Several IMMVs on one log, each with its own watermark: the cleanup keeps
// every row one of them has pending.
TEST_F(Deferred, ThreeImmvsShareTheLogs) {
    auto grouped = View("mv_grouped", ViewShape::Grouped, {Relation(Acc(), "a", {"g", "v"})});
    grouped.columns = {GroupKey("g", "a.g"), Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer")};
    auto bag = View("mv_bag", ViewShape::Bag, {Relation(Acc(), "a", {"id", "h"})});
    bag.columns = {Plain("id", "a.id", true), Plain("h", "a.h")};
    bag.row_key_columns = {"id"};
    auto join = View("mv_join", ViewShape::Bag, {Relation(Acc(), "a", {"g", "v"}), Relation(Br(), "b", {"g", "x"})});
    join.where_sql = "(a.g = b.g)";
    join.columns = {Plain("v", "a.v"), Plain("x", "b.x")};
    Immv a(grouped, "SELECT g, min(v) FROM {acc} GROUP BY g");
    Immv b(bag, "SELECT id, h FROM {acc}");
    Immv c(join, "SELECT a.v, b.x FROM {acc} a, {br} b WHERE a.g = b.g");
    DeferredOptions options;
    options.steps = 150;
    RunDeferred({&a, &b, &c}, {Acc(), Br()}, gen(), Repro(), options);
}

}  // namespace
}  // namespace ivmx::sqlb
