// ProcessUtility hook: DDL that would silently break an IMMV is refused with
// a clear error before PostgreSQL runs it. Today that is ALTER TABLE ...
// ALTER COLUMN ... TYPE on a column an IMMV reads (PostgreSQL itself would
// only report an internal error for such a dependency).
#include <string>

#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"
#include "utility_hook.hpp"

extern "C" {
#include "tcop/utility.h"
}

namespace ivmx::pg {

namespace {

ProcessUtility_hook_type g_previous_hook = nullptr;

// Names of the IMMVs reading column attnum of relid, comma-separated.
std::string ImmvsReadingColumn(Oid relid, AttrNumber attnum) {
    return PgCall([&] {
        std::string names;
        Oid argtypes[2] = {OIDOID, INT4OID};
        Datum args[2] = {ObjectIdGetDatum(relid), Int32GetDatum(attnum)};
        int rc = SPI_execute_with_args(
            "SELECT pg_catalog.string_agg(d.objid::pg_catalog.regclass::pg_catalog.text, ', ') "
            "FROM pg_catalog.pg_depend d JOIN ivmx.immv i ON i.immvrelid::pg_catalog.oid = d.objid "
            "WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
            "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
            "AND d.refobjid = $1 AND d.refobjsubid = $2",
            2, argtypes, args, nullptr, true, 1);
        if (rc == SPI_OK_SELECT && SPI_processed == 1) {
            bool isnull = false;
            Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
            if (!isnull) names = TextDatumGetCString(d);
        }
        return names;
    });
}

bool ExtensionInstalled() {
    return PgCall([] {
        Oid nsp = get_namespace_oid("ivmx", true);
        return OidIsValid(nsp) && OidIsValid(get_relname_relid("immv", nsp));
    });
}

void CheckAlterTable(AlterTableStmt* stmt) {
    bool alters_type = false;
    PgCall([&] {
        ListCell* lc;
        foreach (lc, stmt->cmds) {
            if (lfirst_node(AlterTableCmd, lc)->subtype == AT_AlterColumnType) alters_type = true;
        }
    });
    if (!alters_type || !ExtensionInstalled()) return;
    const Oid relid = PgCall([&] { return RangeVarGetRelid(stmt->relation, NoLock, true); });
    if (!OidIsValid(relid)) return;
    SpiConnect();
    for (int i = 0; i < list_length(stmt->cmds); ++i) {
        auto* cmd = static_cast<AlterTableCmd*>(list_nth(stmt->cmds, i));
        if (cmd->subtype != AT_AlterColumnType || cmd->name == nullptr) continue;
        const AttrNumber attnum = PgCall([&] { return get_attnum(relid, cmd->name); });
        if (attnum == InvalidAttrNumber) continue;
        const std::string immvs = ImmvsReadingColumn(relid, attnum);
        if (immvs.empty()) continue;
        const std::string column = cmd->name;
        PgCall([&] {
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("cannot alter type of a column used by an incrementally maintainable "
                            "materialized view"),
                     errdetail("Column \"%s\" is read by %s.", column.c_str(), immvs.c_str()),
                     errhint("Drop the IMMV, alter the column, and create the IMMV again.")));
        });
    }
    SpiFinish();
}

void IvmxProcessUtility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                        ProcessUtilityContext context, ParamListInfo params,
                        QueryEnvironment* query_env, DestReceiver* dest, QueryCompletion* qc) {
    Node* parsetree = pstmt->utilityStmt;
    if (IsA(parsetree, AlterTableStmt))
        EntryGuard([&] { CheckAlterTable(castNode(AlterTableStmt, parsetree)); });
    if (g_previous_hook != nullptr)
        g_previous_hook(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
    else
        standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env,
                                dest, qc);
}

}  // namespace

void InstallUtilityHook() {
    g_previous_hook = ProcessUtility_hook;
    ProcessUtility_hook = IvmxProcessUtility;
}

}  // namespace ivmx::pg
