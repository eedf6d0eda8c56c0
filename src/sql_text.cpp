// Identifier quoting and list joining for generated SQL.
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

std::string QuoteIdent(const std::string& name) {
    std::string quoted;
    quoted.reserve(name.size() + 2);
    quoted.push_back('"');
    for (char c : name) {
        if (c == '"') quoted.push_back('"');
        quoted.push_back(c);
    }
    quoted.push_back('"');
    return quoted;
}

std::string QuoteQualified(const QualifiedName& name) {
    if (name.schema.empty()) return QuoteIdent(name.name);
    return QuoteIdent(name.schema) + "." + QuoteIdent(name.name);
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) out += separator;
        out += parts[i];
    }
    return out;
}

std::string QualifiedColumn(const std::string& qualifier, const std::string& column) {
    return qualifier + "." + QuoteIdent(column);
}

std::vector<std::string> QuoteIdents(const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(QuoteIdent(n));
    return out;
}

std::vector<std::string> QualifiedColumns(const std::string& qualifier, const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(QualifiedColumn(qualifier, n));
    return out;
}

}  // namespace ivmx::core
