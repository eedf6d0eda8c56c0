// Version differences between PostgreSQL releases, kept in one place.
//
// pg_ivmx targets PostgreSQL 15. Code elsewhere calls the names defined here
// instead of testing PG_VERSION_NUM itself.
#pragma once

#if PG_VERSION_NUM < 150000
#error "pg_ivmx needs PostgreSQL 15 or later"
#endif

namespace ivmx::pg::compat {

// Parse analysis of one raw statement with no parameters.
inline Query* AnalyzeRawStatement(RawStmt* raw, const char* source_text) {
    return parse_analyze_fixedparams(raw, source_text, nullptr, 0, nullptr);
}

}  // namespace ivmx::pg::compat

namespace ivmx::pg::compat {

// Whether role owns relation relid (PostgreSQL 16 renamed this object_ownercheck).
inline bool OwnsRelation(Oid relid, Oid role) { return pg_class_ownercheck(relid, role); }

}  // namespace ivmx::pg::compat
