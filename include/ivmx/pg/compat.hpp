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
inline bool OwnsRelation(Oid relid, Oid role) {
    return pg_class_ownercheck(relid, role);
}

// VACUUM of one table (and its TOAST table) by a background worker, as a
// top-level command: called in a started transaction without a snapshot,
// which it commits; returns in a new one. Locked tables are skipped. With
// truncate, empty pages at the end of the file are given back to the file
// system (which takes AccessExclusiveLock, tried without waiting for up to
// 5 s while other sessions hold the table); otherwise never. PostgreSQL 16
// changed vacuum()'s arguments and added VACOPT_PROCESS_MAIN.
inline void VacuumTable(VacuumRelation* table, bool truncate) {
    VacuumParams params;
    memset(&params, 0, sizeof(params));
    params.options = VACOPT_VACUUM | VACOPT_PROCESS_TOAST | VACOPT_SKIP_LOCKED;
    params.freeze_min_age = -1;
    params.freeze_table_age = -1;
    params.multixact_freeze_min_age = -1;
    params.multixact_freeze_table_age = -1;
    params.log_min_duration = -1;
    params.index_cleanup = VACOPTVALUE_AUTO;
    params.truncate = truncate ? VACOPTVALUE_ENABLED : VACOPTVALUE_DISABLED;
    params.nworkers = -1;
    vacuum(list_make1(table), &params, nullptr, true);
}

}  // namespace ivmx::pg::compat
