// Analysis of an IMMV's defining query: parse and analyse the SQL text, check
// that the engine can maintain it, and describe it as the core's view IR.
#pragma once

#include <string>
#include <vector>

#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Parses and analyses sql (one SELECT) under the current search_path.
// Errors point into sql. The Query is palloc'd in the current memory context.
Query* ParseViewQuery(const std::string& sql);

// Flattens the query (FlattenViewQuery), checks it and builds the view IR.
// Throws ivmx::core::Error with SQLSTATE feature_not_supported naming the
// first unsupported construct (invalid_parameter_value when the query is
// not a single SELECT).
// immv is the (final) name of the IMMV table. With check_relations, the base
// relations are checked too (a new IMMV; needs an SPI connection); a stored
// IMMV's relations were checked when it was created.
core::ViewDefinition DescribeView(Query* query, const core::QualifiedName& immv, bool check_relations);

// OIDs of the base relations the query reads.
std::vector<Oid> BaseRelations(Query* query);

// The query as SQL text, deparsed under the safe search_path (every
// non-catalog name qualified).
std::string DeparseQuery(Query* query);

}  // namespace ivmx::pg
