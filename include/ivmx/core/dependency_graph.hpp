// The dependency DAG of IMMVs: which relations each IMMV reads. Built with
// Boost.Graph; answers the scheduler's questions (refresh order, depth,
// which views must be brought forward first, which are blocked by a failing
// view) without touching the server.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace ivmx::core {

using RelationId = uint32_t;

// An edge: `view` reads `relation` (a base table or another IMMV).
struct Dependency {
    RelationId view;
    RelationId relation;
};

class DependencyGraph {
  public:
    // The graph of the edges, with every relation in `views` a vertex too:
    // an IMMV that reads no relation (SELECT 1, or functions in FROM only)
    // has no edge, and is still listed and ordered.
    explicit DependencyGraph(const std::vector<Dependency>& edges, const std::vector<RelationId>& views = {});

    // The relations involved, each upstream before its downstream views
    // (ties broken by id, so the order is deterministic). Throws Error
    // (invalid_object_definition) naming a view on a cycle if there is one.
    std::vector<RelationId> TopologicalOrder() const;

    // 0 for relations reading nothing (base tables, IMMVs without inputs),
    // else 1 + the deepest input.
    std::map<RelationId, int> Depths() const;

    // The views that `view` reads directly or transitively (not itself).
    std::set<RelationId> Upstream(RelationId view) const;

    // The views reading `relation` directly or transitively (not itself).
    std::set<RelationId> Downstream(RelationId relation) const;

    // Views that must not be refreshed because one of their upstream views
    // is in `failing` (the failing views themselves are not included).
    std::set<RelationId> BlockedBy(const std::set<RelationId>& failing) const;

    // Whether adding `view` reading `relations` would close a cycle.
    bool WouldCreateCycle(RelationId view, const std::vector<RelationId>& relations) const;

  private:
    std::vector<Dependency> edges_;
    std::vector<RelationId> views_;
};

}  // namespace ivmx::core
