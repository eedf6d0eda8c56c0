// Rewrite of quantified subquery conditions (IN, = ANY, NOT IN, <> ALL,
// any operator with ANY or ALL, row comparisons too) into the EXISTS /
// NOT EXISTS form that flatten.cpp turns into semi- and anti-joins.
//
// As a condition ANDed into WHERE, a NULL and a FALSE both reject the row,
// so for a subquery `SELECT y FROM s WHERE c` and a comparison t(x, y):
//
//   x op ANY (sub)        ≡ EXISTS     (SELECT 1 FROM s WHERE c AND t)
//   NOT (x op ANY (sub))  ≡ NOT EXISTS (SELECT 1 FROM s WHERE c AND t IS NOT FALSE)
//   x op ALL (sub)        ≡ NOT EXISTS (SELECT 1 FROM s WHERE c AND t IS NOT TRUE)
//   NOT (x op ALL (sub))  ≡ EXISTS     (SELECT 1 FROM s WHERE c AND t IS FALSE)
//
// (NOT IN is NOT (x = ANY (...)) in the parse tree.) These follow SQL's
// three-valued logic exactly: ANY is TRUE when t is TRUE for some row,
// FALSE when t is FALSE for every row (or there is none), NULL otherwise;
// ALL is TRUE when t is TRUE for every row (or there is none), FALSE when
// t is FALSE for some row, NULL otherwise.
#pragma once

#include <string>

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Names a quantified subquery condition in messages: "an IN / ANY
// subquery", "a NOT IN / NOT ANY subquery", "an ALL subquery", "a NOT ALL
// subquery".
std::string QuantifiedSublinkName(SubLinkType type, bool negated);

// The subquery of the EXISTS condition equivalent to link (an ANY_SUBLINK
// or ALL_SUBLINK, under NOT if negated) as a WHERE conjunct: a copy of
// link->subselect with the comparison, its parameters replaced by the
// subquery's output expressions and its outer columns one level further up,
// ANDed into its WHERE clause. *anti tells whether the condition is NOT
// EXISTS. Throws NotSupported (0A000) for what it cannot rewrite (a
// subquery in the left operand, DISTINCT ON in the subquery); the rest of
// the subquery's checks are those of EXISTS subqueries.
Query* ExistsFormOfQuantifiedSublink(SubLink* link, bool negated, bool* anti);

}  // namespace ivmx::pg
