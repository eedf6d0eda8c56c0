// GROUPING SETS, ROLLUP and CUBE in an IMMV's defining query.
//
// A query grouped by k grouping sets is rewritten into the plain GROUP BY it
// equals when read over one more FROM item, the numbers 0 .. k-1 of the
// sets (a constant relation, generate_series(0, k-1)): every group key
// becomes CASE WHEN <the set is one grouping by it> THEN key END, GROUPING()
// becomes the CASE over the set number that gives its bits, and the set
// number is one more (hidden) key, so that the total row of ROLLUP (a) and
// the group of a NULL a stay apart. The rest of the analysis and all of
// maintenance then treat it as any grouped view (see core::EmptyGroupingSet
// for the groups of the empty set ()).
#pragma once

#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"
#include "relation_scope.hpp"

namespace ivmx::pg {

// Most grouping sets a view may have (after ROLLUP and CUBE are expanded):
// every change is read once per set.
inline constexpr int kMaxGroupingSets = 64;

// What the rewrite of a query's grouping sets leaves for DescribeGroupingSets.
// Plain data (palloc'd nodes) kept while the rewritten query is described.
struct GroupingSetsRewrite {
    List* sets = NIL;           // the expanded sets: a list of integer lists of sortgroup references
    List* wrapped = NIL;        // the CASE nodes that replaced the keys that some set omits
    Var* set_number = nullptr;  // the set number, a column of the added FROM item
};

// For a query with grouping sets: a rewritten copy as described above (the
// query is not changed), filling in `rewrite`. Throws core::NotSupported
// (54000 past kMaxGroupingSets sets).
Query* RewriteGroupingSets(Query* q, GroupingSetsRewrite& rewrite);

// Completes the description of a view whose query RewriteGroupingSets
// rewrote (q, described as `view` with the scope `deparse`): names its
// grouping-set key column and lists its empty grouping sets with the values
// of every key column there.
void DescribeGroupingSets(Query* q, const GroupingSetsRewrite& rewrite, const RelationScope& deparse,
                          core::ViewDefinition& view);

}  // namespace ivmx::pg
