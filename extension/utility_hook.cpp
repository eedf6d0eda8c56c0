// ProcessUtility hook: DDL that would silently break an IMMV is refused with
// a clear error before PostgreSQL runs it: changing the type of a column an
// IMMV reads (PostgreSQL itself would only report an internal error for such
// a dependency), dropping or retyping an IMMV's columns, renaming its
// bookkeeping columns, making an IMMV take part in partitioning or
// inheritance, and dropping pg_ivmx's triggers. Around DDL that changes the
// hierarchies of base relations it records the rows that move
// (extension/hierarchy.hpp).
#include <string>
#include <vector>

#include "../scheduler/workers.hpp"
#include "catalog.hpp"
#include "companions.hpp"
#include "ddl.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"
#include "delta_log.hpp"
#include "hierarchy.hpp"
#include "utility_hook.hpp"

#include "statement_batch.hpp"
#include "transaction_changes.hpp"

extern "C" {
#include "tcop/utility.h"
}

namespace ivmx::pg {

namespace {

ProcessUtility_hook_type g_previous_hook = nullptr;

// Names of the IMMVs reading column attnum of relid, comma-separated, as
// the caller's search_path shows them. The catalog is read as its owner
// (row-level security would hide other roles' IMMVs from the caller).
std::string ImmvNamesReadingColumn(Oid relid, AttrNumber attnum) {
    std::string names;
    for (Oid immv : ImmvsReadingColumn(relid, attnum)) {
        if (!names.empty()) names += ", ";
        names += PgCall([&] { return DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(immv))); });
    }
    return names;
}

// Whether the extension's catalog (ivmx.immv) exists as this statement sees
// the catalog: pg_ivmx is installed in this database.
bool ImmvCatalogExists() {
    return PgCall([] {
        Oid nsp = get_namespace_oid("ivmx", true);
        return OidIsValid(nsp) && OidIsValid(get_relname_relid("immv", nsp));
    });
}

// Whether an IMMV reads relid, whoever owns it, as the statement sees the
// catalog.
bool IsReadByImmv(Oid relid) {
    return !ImmvsReading(relid, CatalogSnapshot::Statement).empty();
}

Oid RelidOf(RangeVar* rv) {
    return PgCall([&] { return RangeVarGetRelid(rv, NoLock, true); });
}

// IMMVs and the tables kept beside them hold what pg_ivmx writes: they take
// no part in partitioning or inheritance.
void RefuseHierarchyOfImmv(Oid relid) {
    if (!OidIsValid(relid) || (!ImmvExists(relid) && !OidIsValid(ImmvOfCompanion(relid)))) return;
    const char* name = PgCall([&] { return get_rel_name(relid); });
    throw core::NotSupported("incrementally maintainable materialized view \"" + std::string(name ? name : "?") +
                                 "\" cannot take part in partitioning or table inheritance",
                             "Its contents are maintained by pg_ivmx from its query.");
}

// An IMMV cannot become a parent (CREATE TABLE ... INHERITS / PARTITION OF).
void CheckCreateTable(CreateStmt* stmt) {
    if (stmt->inhRelations == NIL || !ImmvCatalogExists()) return;
    SpiConnect();
    for (int i = 0; i < list_length(stmt->inhRelations); ++i)
        RefuseHierarchyOfImmv(RelidOf(static_cast<RangeVar*>(list_nth(stmt->inhRelations, i))));
    SpiFinish();
}

// Renaming an IMMV's bookkeeping columns would break its maintenance.
void CheckRename(RenameStmt* stmt) {
    if (stmt->renameType != OBJECT_COLUMN || stmt->relation == nullptr || stmt->subname == nullptr) return;
    if (std::string(stmt->subname).rfind("__ivm", 0) != 0 || !ImmvCatalogExists()) return;
    const Oid relid = RelidOf(stmt->relation);
    if (!OidIsValid(relid)) return;
    SpiConnect();
    if (ImmvExists(relid))
        throw core::NotSupported("cannot rename column \"" + std::string(stmt->subname) +
                                     "\" of an incrementally maintainable materialized view",
                                 "Columns whose names start with \"__ivm\" hold the IMMV's bookkeeping.");
    SpiFinish();
}

// Columns of an IMMV cannot be dropped or change type; IMMVs cannot join
// hierarchies (ALTER TABLE ... INHERIT, ATTACH PARTITION).
void CheckAlterImmvOrInherit(AlterTableStmt* stmt, Oid relid) {
    const bool immv = ImmvExists(relid);
    for (int i = 0; i < list_length(stmt->cmds); ++i) {
        auto* cmd = static_cast<AlterTableCmd*>(list_nth(stmt->cmds, i));
        if (immv && (cmd->subtype == AT_DropColumn || cmd->subtype == AT_AlterColumnType))
            throw core::NotSupported(
                std::string(cmd->subtype == AT_DropColumn ? "cannot drop" : "cannot alter the type of") +
                    " a column of an incrementally maintainable materialized view",
                "Its columns are defined by its query.", "Drop the IMMV and create it again with the query you want.");
        if (cmd->subtype == AT_AddInherit && cmd->def != nullptr && IsA(cmd->def, RangeVar)) {
            RefuseHierarchyOfImmv(relid);
            RefuseHierarchyOfImmv(RelidOf(castNode(RangeVar, cmd->def)));
        }
        if (cmd->subtype == AT_AttachPartition && cmd->def != nullptr && IsA(cmd->def, PartitionCmd))
            RefuseHierarchyOfImmv(RelidOf(castNode(PartitionCmd, cmd->def)->name));
    }
}

void CheckAlterTable(AlterTableStmt* stmt) {
    if (!ImmvCatalogExists()) return;
    const Oid relid = PgCall([&] { return RangeVarGetRelid(stmt->relation, NoLock, true); });
    if (!OidIsValid(relid)) return;
    SpiConnect();
    CheckAlterImmvOrInherit(stmt, relid);
    for (int i = 0; i < list_length(stmt->cmds); ++i) {
        auto* cmd = static_cast<AlterTableCmd*>(list_nth(stmt->cmds, i));
        if (cmd->subtype != AT_AlterColumnType || cmd->name == nullptr) continue;
        const AttrNumber attnum = PgCall([&] { return get_attnum(relid, cmd->name); });
        if (attnum == InvalidAttrNumber) continue;
        const std::string immvs = ImmvNamesReadingColumn(relid, attnum);
        if (immvs.empty()) continue;
        const std::string column = cmd->name;
        PgCall([&] {
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("cannot alter type of a column used by an incrementally maintainable "
                                   "materialized view"),
                            errdetail("Column \"%s\" is read by %s.", column.c_str(), immvs.c_str()),
                            errhint("Drop the IMMV, alter the column, and create the IMMV again.")));
        });
    }
    SpiFinish();
}

// pg_ivmx's triggers cannot be dropped on their own while an IMMV needs
// them: the IMMV would silently go stale (a capture trigger) or become
// writable (its guard trigger). Internal triggers are otherwise droppable by
// the table's owner. (Disabling them needs a superuser; ivmx.immv_status
// shows such an IMMV as broken, and ivmx.refresh_immv repairs it.)
void CheckDropTrigger(DropStmt* stmt) {
    if (!ImmvCatalogExists()) return;
    for (int i = 0; i < list_length(stmt->objects); ++i) {
        auto* names = static_cast<List*>(list_nth(stmt->objects, i));
        if (list_length(names) < 2) continue;
        const char* trigger = strVal(llast(names));
        const Oid relid = PgCall([&] {
            List* relation = list_truncate(list_copy(names), list_length(names) - 1);
            return RangeVarGetRelid(makeRangeVarFromNameList(relation), NoLock, true);
        });
        if (!OidIsValid(relid) || !IsMaintenanceTrigger(relid, trigger)) continue;
        SpiConnect();
        const bool needed = ImmvExists(relid) || IsReadByImmv(relid);
        SpiFinish();
        if (!needed) continue;
        const char* table_name = PgCall([&] { return get_rel_name(relid); });
        const std::string table = table_name != nullptr ? table_name : "?";
        throw core::Error(core::sqlstate::kDependentObjectsStillExist,
                          "cannot drop trigger \"" + std::string(trigger) + "\" on table \"" + table +
                              "\" because incrementally maintainable materialized views require it",
                          "pg_ivmx maintains the IMMVs reading the table, and guards IMMVs from direct writes, "
                          "through its triggers.",
                          "Drop the IMMVs that need it instead: their triggers go with them.");
    }
}

// After a base table's columns changed, its delta log follows (the log
// stands in for the table in deferred refreshes).
void FollowColumnChanges(Node* parsetree) {
    if (!ImmvCatalogExists()) return;
    RangeVar* relation = IsA(parsetree, RenameStmt) ? castNode(RenameStmt, parsetree)->relation
                                                    : castNode(AlterTableStmt, parsetree)->relation;
    if (relation == nullptr) return;
    const Oid relid = RelidOf(relation);
    if (!OidIsValid(relid)) return;
    SpiConnect();
    if (IsA(parsetree, RenameStmt)) {
        RenameStmt* stmt = castNode(RenameStmt, parsetree);
        if (stmt->renameType == OBJECT_COLUMN && stmt->subname != nullptr && stmt->newname != nullptr)
            FollowBaseColumnRename(relid, stmt->subname, stmt->newname);
    }
    SyncDeltaLog(relid);
    SpiFinish();
}

// The companion tables of an IMMV follow its column renames and its owner.
void FollowImmvChanges(Node* parsetree) {
    if (!ImmvCatalogExists()) return;
    RangeVar* relation = IsA(parsetree, RenameStmt) ? castNode(RenameStmt, parsetree)->relation
                                                    : castNode(AlterTableStmt, parsetree)->relation;
    if (relation == nullptr) return;
    const Oid relid = RelidOf(relation);
    if (!OidIsValid(relid)) return;
    const std::vector<Oid> companions = CompanionTables(relid);
    if (companions.empty()) return;
    SpiConnect();
    if (IsA(parsetree, RenameStmt)) {
        RenameStmt* stmt = castNode(RenameStmt, parsetree);
        // (A values table has the group keys only, not every column.)
        if (stmt->renameType == OBJECT_COLUMN && stmt->subname != nullptr && stmt->newname != nullptr)
            for (Oid table : companions)
                if (PgCall([&] { return get_attnum(table, stmt->subname); }) != InvalidAttrNumber)
                    SpiExecute("ALTER TABLE " + core::QuoteQualified(RelationName(table)) + " RENAME COLUMN " +
                               core::QuoteIdent(stmt->subname) + " TO " + core::QuoteIdent(stmt->newname));
    } else {
        FollowOwner(relid);
    }
    SpiFinish();
}

void IvmxProcessUtility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                        ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* query_env,
                        DestReceiver* dest, QueryCompletion* qc) {
    Node* parsetree = pstmt->utilityStmt;
    if (IsA(parsetree, AlterTableStmt))
        EntryGuard([&] { CheckAlterTable(castNode(AlterTableStmt, parsetree)); });
    else if (IsA(parsetree, CreateStmt))
        EntryGuard([&] { CheckCreateTable(castNode(CreateStmt, parsetree)); });
    else if (IsA(parsetree, RenameStmt))
        EntryGuard([&] { CheckRename(castNode(RenameStmt, parsetree)); });
    else if (IsA(parsetree, DropStmt) && castNode(DropStmt, parsetree)->removeType == OBJECT_TRIGGER)
        EntryGuard([&] { CheckDropTrigger(castNode(DropStmt, parsetree)); });
    // COPY of an IMMV TO a file reads it: the transaction's saved changes
    // for it go first. (COPY (query) TO runs through the executor.)
    if (IsA(parsetree, CopyStmt) && !castNode(CopyStmt, parsetree)->is_from &&
        castNode(CopyStmt, parsetree)->relation != nullptr && HasSavedChanges())
        EntryGuard([&] {
            const Oid relid =
                PgCall([&] { return RangeVarGetRelid(castNode(CopyStmt, parsetree)->relation, NoLock, true); });
            if (OidIsValid(relid) && IsStaleImmv(relid)) ApplyPendingChanges();
        });
    // Rows leaving or joining the hierarchies of base relations.
    HierarchyDdlState hierarchy;
    if (IsA(parsetree, AlterTableStmt) || IsA(parsetree, DropStmt))
        EntryGuard([&] { hierarchy = BeforeHierarchyDdl(parsetree); });
    SchedulerBeforeUtility(parsetree);  // DROP DATABASE & co.: stop its scheduler first
    if (g_previous_hook != nullptr)
        g_previous_hook(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
    else
        standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
    SchedulerAfterUtility(parsetree);  // CREATE/DROP EXTENSION pg_ivmx: tell the workers at commit
    if (IsA(parsetree, AlterTableStmt) || IsA(parsetree, CreateStmt))
        EntryGuard([&] { AfterHierarchyDdl(parsetree, hierarchy); });
    if (IsA(parsetree, RenameStmt) || IsA(parsetree, AlterTableStmt))
        EntryGuard([&] {
            FollowColumnChanges(parsetree);
            FollowImmvChanges(parsetree);
        });
}

}  // namespace

void InstallUtilityHook() {
    g_previous_hook = ProcessUtility_hook;
    ProcessUtility_hook = IvmxProcessUtility;
}

}  // namespace ivmx::pg
