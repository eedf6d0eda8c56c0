// The IMMV dependency DAG: order, depth, closures, blocking, cycles.
#include <gtest/gtest.h>

#include "ivmx/core/dependency_graph.hpp"
#include "ivmx/core/error.hpp"

using ivmx::core::Dependency;
using ivmx::core::DependencyGraph;
using ivmx::core::RelationId;

namespace {

// Base tables 1 and 2; view 10 reads 1; view 11 reads 10 and 2; view 12
// reads 10; view 13 joins 11 and 12 (a diamond over 10).
DependencyGraph Diamond() {
    return DependencyGraph({{10, 1}, {11, 10}, {11, 2}, {12, 10}, {13, 11}, {13, 12}});
}

size_t Position(const std::vector<RelationId>& order, RelationId id) {
    return std::find(order.begin(), order.end(), id) - order.begin();
}

}  // namespace

TEST(DependencyGraph, TopologicalOrderPutsInputsFirst) {
    auto order = Diamond().TopologicalOrder();
    ASSERT_EQ(order.size(), 6u);
    EXPECT_LT(Position(order, 1), Position(order, 10));
    EXPECT_LT(Position(order, 10), Position(order, 11));
    EXPECT_LT(Position(order, 10), Position(order, 12));
    EXPECT_LT(Position(order, 11), Position(order, 13));
    EXPECT_LT(Position(order, 12), Position(order, 13));
    EXPECT_EQ(order, Diamond().TopologicalOrder());  // deterministic
}

TEST(DependencyGraph, DepthsCountTheLongestPath) {
    auto depth = Diamond().Depths();
    EXPECT_EQ(depth[1], 0);
    EXPECT_EQ(depth[2], 0);
    EXPECT_EQ(depth[10], 1);
    EXPECT_EQ(depth[11], 2);
    EXPECT_EQ(depth[13], 3);
}

TEST(DependencyGraph, UpstreamAndDownstreamClosures) {
    auto g = Diamond();
    EXPECT_EQ(g.Upstream(13), (std::set<RelationId>{1, 2, 10, 11, 12}));
    EXPECT_EQ(g.Upstream(10), (std::set<RelationId>{1}));
    EXPECT_EQ(g.Downstream(10), (std::set<RelationId>{11, 12, 13}));
    EXPECT_TRUE(g.Downstream(13).empty());
    EXPECT_TRUE(g.Upstream(99).empty());
}

TEST(DependencyGraph, FailingViewBlocksEverythingDownstream) {
    auto g = Diamond();
    EXPECT_EQ(g.BlockedBy({11}), (std::set<RelationId>{13}));
    EXPECT_EQ(g.BlockedBy({10}), (std::set<RelationId>{11, 12, 13}));
    EXPECT_TRUE(g.BlockedBy({13}).empty());
}

TEST(DependencyGraph, CyclesAreReportedAndPrevented) {
    DependencyGraph cyclic({{10, 11}, {11, 10}, {10, 1}});
    try {
        cyclic.TopologicalOrder();
        ADD_FAILURE();
    } catch (const ivmx::core::Error& e) {
        EXPECT_EQ(e.sqlstate(), ivmx::core::sqlstate::kInvalidObjectDefinition);
    }
    auto g = Diamond();
    EXPECT_TRUE(g.WouldCreateCycle(10, {13}));
    EXPECT_TRUE(g.WouldCreateCycle(10, {10}));
    EXPECT_FALSE(g.WouldCreateCycle(14, {13, 1}));
}

// An IMMV that reads no relation (SELECT 1, or functions in FROM only) has
// no edge: listed as a vertex, it is ordered and has depth 0; view 21 reads
// it.
TEST(DependencyGraph, ViewsWithoutInputsAreVerticesWhenListed) {
    const DependencyGraph g({{10, 1}, {21, 20}}, {10, 20, 30});
    const auto order = g.TopologicalOrder();
    EXPECT_EQ(order, (std::vector<RelationId>{1, 10, 20, 21, 30}));
    EXPECT_EQ(g.Depths().at(30), 0);
    EXPECT_EQ(g.Depths().at(21), 1);
    EXPECT_TRUE(g.Upstream(30).empty());
    EXPECT_TRUE(g.Downstream(30).empty());
    EXPECT_EQ(g.Downstream(20), (std::set<RelationId>{21}));
    EXPECT_FALSE(g.WouldCreateCycle(30, {1}));
    // Without the list, the isolated view is not in the graph at all.
    EXPECT_EQ(DependencyGraph({{10, 1}}).TopologicalOrder(), (std::vector<RelationId>{1, 10}));
}
