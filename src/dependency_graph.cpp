// The IMMV dependency DAG (see include/ivmx/core/dependency_graph.hpp).
//
// Vertices are relations; an edge goes from a relation to every view that
// reads it, so that a topological order lists inputs before their readers.
#include "ivmx/core/dependency_graph.hpp"

#include <boost/graph/adjacency_list.hpp>

#include <algorithm>
#include <string>

#include "ivmx/core/error.hpp"

namespace ivmx::core {

namespace {

using Graph = boost::adjacency_list<boost::setS, boost::vecS, boost::bidirectionalS>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

// The graph with vertices numbered in ascending relation id order.
struct Indexed {
    Graph graph;
    std::vector<RelationId> ids;  // vertex -> relation
    std::map<RelationId, Vertex> vertex_of;
};

Indexed Build(const std::vector<Dependency>& edges, const std::vector<RelationId>& views) {
    Indexed g;
    std::set<RelationId> ids(views.begin(), views.end());
    for (const auto& e : edges) {
        ids.insert(e.view);
        ids.insert(e.relation);
    }
    g.ids.assign(ids.begin(), ids.end());
    g.graph = Graph(g.ids.size());
    for (Vertex v = 0; v < g.ids.size(); ++v) g.vertex_of[g.ids[v]] = v;
    for (const auto& e : edges) boost::add_edge(g.vertex_of[e.relation], g.vertex_of[e.view], g.graph);
    return g;
}

// Relations reachable from `start` following edges forward (or backward).
std::set<RelationId> Reachable(const Indexed& g, RelationId start, bool forward) {
    std::set<RelationId> out;
    auto it = g.vertex_of.find(start);
    if (it == g.vertex_of.end()) return out;
    std::vector<Vertex> stack{it->second};
    std::vector<bool> seen(g.ids.size(), false);
    seen[it->second] = true;
    while (!stack.empty()) {
        Vertex v = stack.back();
        stack.pop_back();
        auto visit = [&](Vertex next) {
            if (seen[next]) return;
            seen[next] = true;
            out.insert(g.ids[next]);
            stack.push_back(next);
        };
        if (forward) {
            for (auto [e, end] = boost::out_edges(v, g.graph); e != end; ++e) visit(boost::target(*e, g.graph));
        } else {
            for (auto [e, end] = boost::in_edges(v, g.graph); e != end; ++e) visit(boost::source(*e, g.graph));
        }
    }
    return out;
}

}  // namespace

DependencyGraph::DependencyGraph(const std::vector<Dependency>& edges, const std::vector<RelationId>& views)
    : edges_(edges), views_(views) {}

std::vector<RelationId> DependencyGraph::TopologicalOrder() const {
    Indexed g = Build(edges_, views_);
    // Kahn's algorithm with a min-heap of ready vertices: deterministic, and
    // the vertices left over name a cycle.
    std::vector<int> pending(g.ids.size(), 0);
    for (Vertex v = 0; v < g.ids.size(); ++v) pending[v] = static_cast<int>(boost::in_degree(v, g.graph));
    std::set<Vertex> ready;
    for (Vertex v = 0; v < g.ids.size(); ++v)
        if (pending[v] == 0) ready.insert(v);
    std::vector<RelationId> order;
    while (!ready.empty()) {
        Vertex v = *ready.begin();
        ready.erase(ready.begin());
        order.push_back(g.ids[v]);
        for (auto [e, end] = boost::out_edges(v, g.graph); e != end; ++e) {
            Vertex next = boost::target(*e, g.graph);
            if (--pending[next] == 0) ready.insert(next);
        }
    }
    if (order.size() != g.ids.size()) {
        for (Vertex v = 0; v < g.ids.size(); ++v)
            if (pending[v] > 0)
                throw Error(sqlstate::kInvalidObjectDefinition,
                            "IMMV dependencies form a cycle through relation " + std::to_string(g.ids[v]));
    }
    return order;
}

std::map<RelationId, int> DependencyGraph::Depths() const {
    Indexed g = Build(edges_, views_);
    std::map<RelationId, int> depth;
    for (RelationId id : TopologicalOrder()) {
        int d = 0;
        Vertex v = g.vertex_of[id];
        for (auto [e, end] = boost::in_edges(v, g.graph); e != end; ++e)
            d = std::max(d, depth[g.ids[boost::source(*e, g.graph)]] + 1);
        depth[id] = d;
    }
    return depth;
}

std::set<RelationId> DependencyGraph::Upstream(RelationId view) const {
    return Reachable(Build(edges_, views_), view, false);
}

std::set<RelationId> DependencyGraph::Downstream(RelationId relation) const {
    return Reachable(Build(edges_, views_), relation, true);
}

std::set<RelationId> DependencyGraph::BlockedBy(const std::set<RelationId>& failing) const {
    Indexed g = Build(edges_, views_);
    std::set<RelationId> blocked;
    for (RelationId f : failing)
        for (RelationId d : Reachable(g, f, true))
            if (!failing.count(d)) blocked.insert(d);
    return blocked;
}

bool DependencyGraph::WouldCreateCycle(RelationId view, const std::vector<RelationId>& relations) const {
    if (std::find(relations.begin(), relations.end(), view) != relations.end()) return true;
    const std::set<RelationId> downstream = Downstream(view);
    for (RelationId r : relations)
        if (downstream.count(r)) return true;
    return false;
}

}  // namespace ivmx::core
