// Functions in FROM as constant relations of the view IR: an immutable
// function (or ROWS FROM of several) whose arguments are constants returns
// the same rows whenever it is read, so maintenance reads it in full, as a
// relation that never changes (core::ConstantRelation). Any other function
// in FROM is rejected with feature_not_supported.
#pragma once

#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"
#include "relation_scope.hpp"

namespace ivmx::pg {

// Rejects (0A000, naming the function) a function in FROM that is not a
// constant relation: one that is not immutable, or has a function in its
// arguments that is not, and one whose arguments read columns of other FROM
// items (LATERAL). Anything else its arguments may not hold is rejected as
// in any other expression of the view.
void CheckConstantFunction(RangeTblEntry* rte);

// Constant relation k of the scope, as the view IR describes it: its FROM
// item (always written as ROWS FROM), alias and columns. Checks it first
// (CheckConstantFunction). Runs under the maintenance settings (the
// deparsed names are qualified for the safe search_path).
core::ConstantRelation DescribeConstant(const RelationScope& scope, size_t k);

}  // namespace ivmx::pg
