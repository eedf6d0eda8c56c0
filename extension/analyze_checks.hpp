// What the analysis of a defining query (analyze.cpp) checks of its
// expressions, and the type facts it reads: shared by the description of
// the query and of its aggregate calls (analyze_aggregate.cpp).
#pragma once

#include <string>

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Throws core::NotSupported (0A000): "<construct> is not supported on
// incrementally maintainable materialized views", with the hint if any.
[[noreturn]] void Unsupported(const std::string& construct, const std::string& hint = {});

// Rejects (0A000, naming it) what an expression holds that maintenance
// cannot re-evaluate: subqueries, aggregates inside expressions, window
// functions (unless windows_allowed: the columns of a window view),
// system columns, whole-row references, parameters (unless params_allowed:
// the operands of an expression over aggregates), and functions that are
// not immutable.
void CheckExpression(Node* expr, bool params_allowed = false, bool windows_allowed = false);

// format_type_be of a type: "integer", "numeric", "text".
std::string TypeName(Oid type);

// The type with its modifier, schema-qualified where PostgreSQL would
// need it: usable in a CAST of generated SQL.
std::string QualifiedTypeName(Oid type, int32 typmod);

// Whether the type has a btree equality operator (needed to match rows).
bool HasBtreeEquality(Oid type);

}  // namespace ivmx::pg
