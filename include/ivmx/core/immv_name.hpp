// Parsing of the IMMV name argument of create_immv: `[schema.]name[(col, ...)]`,
// with PostgreSQL's identifier rules (unquoted names fold to lower case,
// "quoted" names keep case and may contain anything, "" is a quote).
#pragma once

#include <string>
#include <vector>

namespace ivmx::core {

struct ImmvName {
    std::string schema;  // empty: the first schema of search_path decides
    std::string name;
    std::vector<std::string> column_names;  // aliases for the first output columns
};

// Parses text; throws ivmx::core::Error (SQLSTATE 42602 invalid_name, or
// 42601 syntax_error) naming what is wrong.
ImmvName ParseImmvName(const std::string& text);

// PostgreSQL's identifier length limit (NAMEDATALEN - 1).
inline constexpr size_t kMaxIdentifierLength = 63;

}  // namespace ivmx::core
