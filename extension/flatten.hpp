// Flattening of an IMMV's defining query into joins of base relations.
//
// The engine maintains joins of base relations (inner, outer, semi and
// anti). Queries written with other means to the same end are rewritten
// into that form before analysis:
//  * non-recursive WITH queries are inlined at every reference;
//  * simple subqueries in FROM (no aggregates, DISTINCT, LIMIT, set
//    operations) are pulled up into the joins of the outer query;
//  * EXISTS / NOT EXISTS conditions ANDed into a WHERE clause become semi- /
//    anti-joins (JoinExpr with JOIN_SEMI / JOIN_ANTI), and so do IN / ANY /
//    ALL (subquery) conditions ANDed into it, also under NOT, through their
//    EXISTS form (quantified_sublinks.hpp).
// A subquery that cannot be rewritten is rejected with feature_not_supported.
#pragma once

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// A flattened copy of the query (the original is not modified). Range-table
// entries of pulled-up subqueries stay in place as RTE_RESULT entries that
// nothing references.
Query* FlattenViewQuery(Query* query);

}  // namespace ivmx::pg
