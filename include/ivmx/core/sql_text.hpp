// Small helpers for writing SQL text: identifier quoting and joining lists.
#pragma once

#include <string>
#include <vector>

#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// Always-quoted identifier ("name", with embedded quotes doubled): never
// ambiguous, never a keyword, case preserved.
std::string QuoteIdent(const std::string& name);

// "schema"."name"
std::string QuoteQualified(const QualifiedName& name);

// Joins parts with a separator.
std::string Join(const std::vector<std::string>& parts, const std::string& separator);

// A column reference: <qualifier>."name".
std::string QualifiedColumn(const std::string& qualifier, const std::string& column);

// QuoteIdent and QualifiedColumn of every name of a list.
std::vector<std::string> QuoteIdents(const std::vector<std::string>& names);
std::vector<std::string> QualifiedColumns(const std::string& qualifier, const std::vector<std::string>& names);

}  // namespace ivmx::core
