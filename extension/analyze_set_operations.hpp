// Set operations in a view's query: UNION / INTERSECT / EXCEPT [ALL] at
// the top, and a UNION ALL read in FROM. Each operand is described as a view
// of its own (by the caller's describe), then combined
// (core/set_operation.hpp).
#pragma once

#include <functional>
#include <vector>

#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Describes one operand of a set operation as a view.
using DescribeOperand = std::function<core::ViewDefinition(Query*)>;

// The queries of a set operation's leaves, in order.
std::vector<Query*> SetOperationLeaves(Query* q);

// The view of q, a set operation.
core::ViewDefinition DescribeSetOperation(Query* q, const core::QualifiedName& immv, const DescribeOperand& describe);

// Makes `view`, described over a UNION ALL in FROM (its expressions read the
// union's columns), a view over the union of the operands. Raises 0A000 for
// other set operations in FROM and for a union joined to other FROM items.
void AttachUnion(core::ViewDefinition& view, const std::vector<Query*>& unions, const DescribeOperand& describe);

}  // namespace ivmx::pg
