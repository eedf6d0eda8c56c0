// SQL-callable functions of pg_ivmx. Each is a thin extern "C" wrapper that
// runs a C++ body through EntryGuard (see include/ivmx/pg/guards.hpp).
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "transaction_changes.hpp"
#include "access.hpp"
#include "analyze.hpp"
#include "catalog.hpp"
#include "companions.hpp"
#include "ddl.hpp"
#include "hierarchy.hpp"
#include "ivmx/core/dependency_graph.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/immv_name.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "ivmx/pg/guards.hpp"
#include "maintainer.hpp"
#include "settings.hpp"
#include "pg_util.hpp"
#include "deferred.hpp"
#include "delta_log.hpp"
#include "deferred_refresh.hpp"
#include "snapshot_check.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(ivmx_create_immv);
PG_FUNCTION_INFO_V1(ivmx_refresh_immv);
PG_FUNCTION_INFO_V1(ivmx_get_immv_def);
PG_FUNCTION_INFO_V1(ivmx_verify_immv);
PG_FUNCTION_INFO_V1(ivmx_explain_immv);
PG_FUNCTION_INFO_V1(ivmx_forget_relations);
PG_FUNCTION_INFO_V1(ivmx_restore_immv);
PG_FUNCTION_INFO_V1(ivmx_immv_commands);
Datum ivmx_restore_immv(PG_FUNCTION_ARGS);
Datum ivmx_immv_commands(PG_FUNCTION_ARGS);
Datum ivmx_create_immv(PG_FUNCTION_ARGS);
Datum ivmx_refresh_immv(PG_FUNCTION_ARGS);
Datum ivmx_get_immv_def(PG_FUNCTION_ARGS);
Datum ivmx_verify_immv(PG_FUNCTION_ARGS);
Datum ivmx_explain_immv(PG_FUNCTION_ARGS);
Datum ivmx_forget_relations(PG_FUNCTION_ARGS);
}

namespace ivmx::pg {

namespace {

std::string RequiredText(FunctionCallInfo fcinfo, int arg, const char* name) {
    if (PG_ARGISNULL(arg))
        throw core::Error(core::sqlstate::kNullValueNotAllowed, std::string(name) + " must not be null");
    return TextToString(PG_GETARG_DATUM(arg));
}

MaintenanceMode RequestedMode(FunctionCallInfo fcinfo, int arg) {
    if (PG_ARGISNULL(arg)) return DefaultMode();
    const std::string text = TextToString(PG_GETARG_DATUM(arg));
    auto mode = ModeByName(text);
    if (!mode)
        throw core::Error(core::sqlstate::kInvalidParameterValue, "invalid maintenance mode \"" + text + "\"", {},
                          "Valid modes are \"immediate\" and \"deferred\".");
    return *mode;
}

// Resolves the IMMV's schema under the caller's search_path, as CREATE TABLE
// would, and checks that the caller may create the IMMV there (no lock taken).
core::QualifiedName TargetName(const core::ImmvName& name) {
    const Oid nsp = PgCall([&] {
        RangeVar* rv =
            makeRangeVar(name.schema.empty() ? nullptr : pstrdup(name.schema.c_str()), pstrdup(name.name.c_str()), -1);
        return RangeVarGetCreationNamespace(rv);
    });
    CheckMayCreateIn(nsp, name.name);
    // The schema may have been dropped meanwhile (nothing locks it yet).
    const char* schema = PgCall([&] {
        char* found = get_namespace_name(nsp);
        if (found == nullptr)
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_SCHEMA), errmsg("schema with OID %u does not exist", nsp)));
        return found;
    });
    return {schema, name.name};
}

// Checks the caller's rights on every relation the view reads, then locks
// them (ExclusiveLock: writers wait until the IMMV exists with its
// triggers, so none of their changes falls between the initial population
// and maintenance). Rights first: a caller without them queues no lock.
void LockBaseRelations(const std::vector<Oid>& bases) {
    for (Oid base : bases) CheckMayMaintainFrom(base);
    for (Oid base : bases) PgCall([&] { LockRelationOid(base, ExclusiveLock); });
    EnsureSnapshotSeesLatest(bases);
}

// A view can only read relations that exist before it, so a cycle cannot
// arise; the dependency graph checks it all the same.
void RefuseCycle(Oid immv, const std::vector<Oid>& bases) {
    std::vector<core::RelationId> reads(bases.begin(), bases.end());
    if (LoadDependencyGraph().WouldCreateCycle(immv, reads))
        throw core::Error(core::sqlstate::kInvalidObjectDefinition,
                          "IMMV \"" + RelationName(immv).name + "\" would depend on itself");
}

// Records a new (or restored) IMMV: catalog rows, dependencies, the guard
// trigger on it and the capture triggers on what it reads.
void RegisterImmv(Oid immv, Query* query, const char* query_tree, const std::vector<Oid>& bases) {
    RefuseCycle(immv, bases);
    InsertImmv({immv, query_tree, MaintenanceMode::Immediate, true}, bases);
    RecordViewDependencies(immv, query);
    CreateGuardTrigger(immv);
    for (Oid base : bases) SyncHierarchyCapture(base);
}

Oid ExistingRelid(const core::QualifiedName& name) {
    return PgCall([&] {
        RangeVar* rv = makeRangeVar(pstrdup(name.schema.c_str()), pstrdup(name.name.c_str()), -1);
        return RangeVarGetRelid(rv, AccessExclusiveLock, false);
    });
}

// A view that reads no base relation is never maintained, and one without
// FROM has one row at most: neither needs an index.
void NoticeMissingIndex(const core::ViewDefinition& view, Query* query) {
    if (view.shape != core::ViewShape::Bag || core::IsConstantView(view) || view.top_k) return;
    if (query->jointree == nullptr || query->jointree->fromlist == NIL) return;
    const bool constants = !view.constants.empty();
    PgCall([&] {
        ereport(NOTICE, (errmsg("could not create an index on IMMV \"%s\" automatically", view.immv.name.c_str()),
                         constants ? errdetail("The view has no GROUP BY or DISTINCT, and reads a function in "
                                               "FROM, whose rows have no key.")
                                   : errdetail("The view has no GROUP BY or DISTINCT, and does not select the "
                                               "primary key of its base table."),
                         errhint("Create an index on the IMMV if deleting or updating base rows is slow.")));
    });
}

int64 CreateImmv(FunctionCallInfo fcinfo) {
    const std::string name_text = RequiredText(fcinfo, 0, "immv_name");
    const std::string sql = RequiredText(fcinfo, 1, "view_definition");
    const MaintenanceMode mode = RequestedMode(fcinfo, 2);
    if (!PG_ARGISNULL(3) && mode != MaintenanceMode::Deferred)
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState, "an immediate IMMV has no refresh interval",
                          {}, "Create it with mode => 'deferred', or leave refresh_interval out.");
    const core::ImmvName name = core::ParseImmvName(name_text);
    Query* query = ParseViewQuery(sql);
    const std::vector<Oid> bases = BaseRelations(query);
    const core::QualifiedName target = TargetName(name);
    LockBaseRelations(bases);

    SpiConnect();
    MaintenanceScope scope;
    core::ViewDefinition view = DescribeView(query, target, true);
    core::ApplyColumnNames(view, name.column_names);
    core::ValidateColumns(view);
    if (mode == MaintenanceMode::Deferred) ValidateDeferred(view);
    const char* query_tree = PgCall([&] { return nodeToString(query); });
    // The defining query runs as a security-restricted operation, as in
    // CREATE MATERIALIZED VIEW.
    const Oid owner = PgCall([] { return GetUserId(); });
    uint64 rows = WithMaintenanceSettings([&] {
        return AsRole(owner, [&] {
            uint64 populated = SpiExecute(core::CreateTableSql(view));
            if (auto index = core::CreateIndexSql(view)) SpiExecute(*index);
            return populated;
        });
    });
    if (!core::CreateIndexSql(view)) NoticeMissingIndex(view, query);
    const Oid immv = ExistingRelid(target);
    WithMaintenanceSettings([&] { AsRole(owner, [&] { CreateCompanions(view, immv, false); }); });
    RegisterImmv(immv, query, query_tree, bases);
    if (!PG_ARGISNULL(3)) SetRefreshIntervalOf(immv, PG_GETARG_DATUM(3));
    if (mode == MaintenanceMode::Deferred) WithMaintenanceSettings([&] { BeginDeferred(immv, view); });
    SpiFinish();
    return static_cast<int64>(rows);
}

// Whether the columns of table immv have the types the IMMV's population
// query gives them (compared on the query's result description, planned as
// the table's owner and not run for any row).
bool SameColumnTypes(Oid immv, const core::ViewDefinition& view) {
    const Oid owner = RelationOwner(immv);
    const std::string sql = "SELECT * FROM (" + core::PopulateQuery(view) + ") AS __ivm_q LIMIT 0";
    return WithMaintenanceSettings([&] {
        return AsRole(owner, [&] {
            return PgCall([&] {
                if (SPI_execute(sql.c_str(), true, 0) != SPI_OK_SELECT)
                    elog(ERROR, "could not describe the IMMV query");
                TupleDesc expected = SPI_tuptable->tupdesc;
                Relation rel = relation_open(immv, AccessShareLock);
                TupleDesc actual = RelationGetDescr(rel);
                int e = 0;
                bool same = true;
                for (int a = 0; a < actual->natts && same; ++a) {
                    if (TupleDescAttr(actual, a)->attisdropped) continue;
                    same = e < expected->natts &&
                           TupleDescAttr(actual, a)->atttypid == TupleDescAttr(expected, e)->atttypid;
                    ++e;
                }
                relation_close(rel, AccessShareLock);
                return same && e == expected->natts;
            });
        });
    });
}

// Restores an IMMV whose table came back from pg_dump as a plain table:
// checks that the table has the columns the definition gives, registers it
// and its triggers again, and recomputes it if asked (otherwise its restored
// rows are kept: they were consistent with the restored base tables).
void RestoreImmv(FunctionCallInfo fcinfo) {
    const std::string name_text = RequiredText(fcinfo, 0, "immv_name");
    const std::string sql = RequiredText(fcinfo, 1, "view_definition");
    const bool populate = PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2);
    const core::ImmvName name = core::ParseImmvName(name_text);
    Query* query = ParseViewQuery(sql);
    const std::vector<Oid> bases = BaseRelations(query);
    // The caller must own the table (checked before anything is locked).
    const std::string target_text =
        name.schema.empty() ? core::QuoteIdent(name.name) : core::QuoteQualified({name.schema, name.name});
    LockOwnedRelation(target_text, NoLock);
    LockBaseRelations(bases);
    const Oid immv = LockOwnedRelation(target_text, AccessExclusiveLock);
    RefuseTemporaryImmv(immv);
    const core::QualifiedName target = RelationName(immv);
    SpiConnect();
    if (LoadImmv(immv))
        throw core::Error(core::sqlstate::kDuplicateObject, "\"" + target.name +
                                                                "\" is already an incrementally maintainable "
                                                                "materialized view");
    MaintenanceScope scope;
    core::ViewDefinition view = DescribeView(query, target, true);
    std::vector<std::string> names = AttributeNames(immv);
    names.resize(std::min(names.size(), core::VisibleColumns(view).size()));
    core::ApplyColumnNames(view, names);
    core::ValidateColumns(view);
    if (AttributeNames(immv) != core::TableColumns(view) || !SameColumnTypes(immv, view))
        throw core::Error(core::sqlstate::kInvalidObjectDefinition,
                          "table \"" + target.name + "\" does not have the columns of the IMMV definition",
                          "Expected columns: " + core::Join(core::TableColumns(view), ", ") +
                              ", of the types "
                              "the query gives them.",
                          "Restore the table as pg_dump saved it, or create the IMMV anew.");
    const char* query_tree = PgCall([&] { return nodeToString(query); });
    RegisterImmv(immv, query, query_tree, bases);
    const Oid owner = RelationOwner(immv);
    // The companions were not dumped with their state: made anew from the
    // base tables, which the kept rows agree with.
    WithMaintenanceSettings([&] { AsRole(owner, [&] { CreateCompanions(view, immv, true); }); });
    if (populate) {
        WithMaintenanceSettings([&] {
            AsRole(owner, [&] {
                for (const auto& statement : core::RefreshStatements(view, true)) SpiExecute(statement);
            });
        });
    }
    SpiFinish();
}

// One command per IMMV, upstream IMMVs first, that recreates (create) or
// re-registers a restored table as (restore) each IMMV of the database.
std::vector<std::string> ImmvCommands(bool restore) {
    SpiConnect();
    // The IMMVs the caller may see (the catalog's row security): a role gets
    // the commands for its own IMMVs, a superuser for all.
    const std::vector<Oid> immvs = ImmvsCallerMaySee();
    const core::DependencyGraph graph = LoadDependencyGraph(immvs);
    // A deferred IMMV's dumped rows may lag behind the dumped base tables,
    // and its pending changes (the delta logs) are not dumped: it and every
    // IMMV reading it are recomputed on restore. Immediate IMMVs are dumped
    // in the same snapshot as their inputs and keep their rows.
    std::set<core::RelationId> deferred;
    // Every deferred IMMV (also those the caller may not see): the caller's
    // IMMVs reading one are recomputed too.
    for (const ImmvSummary& immv : ListImmvs())
        if (immv.mode == MaintenanceMode::Deferred) deferred.insert(immv.relid);
    std::set<core::RelationId> recompute = graph.BlockedBy(deferred);
    recompute.insert(deferred.begin(), deferred.end());
    std::vector<std::string> commands;
    for (core::RelationId id : graph.TopologicalOrder()) {
        if (std::find(immvs.begin(), immvs.end(), id) == immvs.end()) continue;
        const ImmvRecord record = RequireImmv(id);
        auto maintainer = LoadMaintainer(record);
        const std::string definition = DeparseQuery(ImmvQuery(record));
        const core::QualifiedName name = RelationName(id);
        std::vector<std::string> columns;
        for (const auto& c : core::VisibleColumns(maintainer->definition())) columns.push_back(core::QuoteIdent(c));
        const std::string target = core::QuoteQualified(name) + (restore ? "" : "(" + core::Join(columns, ", ") + ")");
        auto literal = [](const std::string& text) {
            const char* quoted = PgCall([&] { return quote_literal_cstr(text.c_str()); });
            return std::string(quoted);
        };
        if (restore)
            commands.push_back("SELECT ivmx.restore_immv(" + literal(target) + ", " + literal(definition) +
                               (recompute.count(id) ? ", populate => true" : "") + ");");
        else
            commands.push_back("SELECT ivmx.create_immv(" + literal(target) + ", " + literal(definition) +
                               ", mode => " + literal(ModeName(record.mode)) + ");");
        if (restore && record.mode == MaintenanceMode::Deferred)
            commands.push_back("SELECT ivmx.set_mode(" + literal(core::QuoteQualified(name)) + ", 'deferred');");
    }
    SpiFinish();
    return commands;
}

int64 RefreshImmv(FunctionCallInfo fcinfo) {
    const std::string name = RequiredText(fcinfo, 0, "immv_name");
    const bool with_data = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
    const Oid immv = LockOwnedRelation(name, AccessExclusiveLock);
    SpiConnect();
    const ImmvRecord record = RequireImmv(immv);
    // Triggers dropped or disabled meanwhile are recreated: the recompute
    // below then starts maintenance afresh.
    if (with_data) RepairTriggers(immv);
    // Writers of the base tables wait for the IMMV lock before maintaining
    // it; the recompute must not start from a snapshot missing their work.
    if (with_data) EnsureSnapshotSeesLatest(BaseRelations(ImmvQuery(record)));
    MaintenanceScope scope;
    auto maintainer = LoadMaintainer(record);
    uint64 rows = 0;
    if (record.mode == MaintenanceMode::Deferred && with_data) {
        // Recompute in one snapshot and move the watermark with it.
        SetImmvPopulated(immv, true);
        rows = WithMaintenanceSettings([&] { return RefreshDeferred(immv, RefreshKind::Full).rows_changed; });
    } else {
        rows = WithMaintenanceSettings([&] { return maintainer->Refresh(with_data); });
        SetImmvPopulated(immv, with_data);
    }
    InvalidatePlans(immv);
    SpiFinish();
    return static_cast<int64>(rows);
}

// The definition and maintenance statements of an IMMV are shown to those
// who may see its catalog rows (see MayMonitorImmv), as the listing views do.
void RequireMayMonitor(Oid immv) {
    if (MayMonitorImmv(immv)) return;
    PgCall([&] {
        ereport(ERROR,
                (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("permission denied for IMMV %s", get_rel_name(immv)),
                 errdetail("Only its owner, roles with the owner's privileges and members of pg_monitor "
                           "may see its definition.")));
    });
}

std::string GetImmvDef(Oid immv) {
    RequireMayMonitor(immv);
    SpiConnect();
    const ImmvRecord record = RequireImmv(immv);
    Query* query = ImmvQuery(record);
    const char* text = PgCall([&] { return pg_get_querydef(query, true); });
    std::string def = text;
    SpiFinish();
    return def;
}

int64 VerifyImmv(Oid immv) {
    // Reading the IMMV's contents needs SELECT on it, as for any table (the
    // query itself runs as the IMMV's owner).
    PgCall([&] {
        if (pg_class_aclcheck(immv, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
            aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(immv));
    });
    SpiConnect();
    const ImmvRecord record = RequireImmv(immv);
    if (!record.populated)
        PgCall([&] {
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("IMMV \"%s\" has not been populated", get_rel_name(immv)),
                            errhint("Use ivmx.refresh_immv() with with_data => true.")));
        });
    auto maintainer = LoadMaintainer(record);
    const std::string definition = DeparseQuery(ImmvQuery(record));
    // The query runs as the IMMV's owner, whoever verifies.
    const Oid owner = RelationOwner(immv);
    const int64 differing = WithMaintenanceSettings([&] {
        return AsRole(owner, [&] { return SpiQueryInt64(core::VerifySql(maintainer->definition(), definition)); });
    });
    SpiFinish();
    return differing;
}

void AppendPlan(std::vector<std::string>& lines, const std::string& heading, const core::MaintenancePlan& plan) {
    lines.push_back("-- " + heading);
    for (const auto& step : plan.steps) {
        if (step.input == core::StepInput::TidsToRecompute)
            lines.push_back("-- $1: IMMV rows whose min/max may have been deleted");
        if (step.input == core::StepInput::TidsToDelete)
            lines.push_back("-- $1: IMMV rows whose multiplicity reached zero");
        lines.push_back(step.sql + ";");
    }
}

std::vector<std::string> ExplainImmv(Oid immv) {
    RequireMayMonitor(immv);
    SpiConnect();
    const ImmvRecord record = RequireImmv(immv);
    auto maintainer = LoadMaintainer(record);
    // A deferred IMMV: also what its refreshes run.
    std::vector<std::pair<std::string, core::MaintenancePlan>> refreshes;
    if (record.mode == MaintenanceMode::Deferred) refreshes = DeferredRefreshPlans(*maintainer);
    SpiFinish();
    const core::ViewDefinition& view = maintainer->definition();
    std::vector<std::string> lines;
    std::vector<unsigned int> seen;
    for (const auto& rel : view.relations) {
        if (std::find(seen.begin(), seen.end(), rel.relation_id) != seen.end()) continue;
        seen.push_back(rel.relation_id);
        const std::string table = core::QuoteQualified(rel.name);
        for (ChangeKind kind : {ChangeKind::Insert, ChangeKind::Update, ChangeKind::Delete}) {
            const TransitionTables t = TransitionSources(kind);
            const char* event = kind == ChangeKind::Insert   ? "INSERT"
                                : kind == ChangeKind::Update ? "UPDATE"
                                                             : "DELETE";
            AppendPlan(lines, std::string("after ") + event + " on " + table,
                       core::BuildMaintenancePlan(
                           view, core::RelationDelta(view, rel.relation_id, VisibleRows(t.inserted, rel.relation_id),
                                                     VisibleRows(t.deleted, rel.relation_id))));
        }
    }
    for (const auto& [changed, plan] : refreshes)
        AppendPlan(lines, "deferred refresh of changes to " + changed + " (from its batch of the delta log)", plan);
    // An IMMV that reads no table never changes: only a refresh writes it.
    lines.push_back(core::IsConstantView(view) ? "-- refresh_immv (it reads no table: nothing else changes it)"
                                               : "-- after TRUNCATE");
    for (const auto& sql : core::RefreshStatements(view, true)) lines.push_back(sql + ";");
    return lines;
}

Datum TextArray(const std::vector<std::string>& lines) {
    return PgCall([&] {
        Datum* items = static_cast<Datum*>(palloc(sizeof(Datum) * std::max<size_t>(lines.size(), 1)));
        for (size_t i = 0; i < lines.size(); ++i) items[i] = CStringGetTextDatum(lines[i].c_str());
        return PointerGetDatum(construct_array(items, int(lines.size()), TEXTOID, -1, false, TYPALIGN_INT));
    });
}

// The OIDs of an oid[] argument.
std::vector<Oid> OidArray(ArrayType* array) {
    struct Items {
        Datum* values;
        int count;
    };
    const Items items = PgCall([&] {
        Items out{nullptr, 0};
        bool* nulls = nullptr;
        deconstruct_array(array, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &out.values, &nulls, &out.count);
        return out;
    });
    std::vector<Oid> oids;
    for (int i = 0; i < items.count; ++i) oids.push_back(DatumGetObjectId(items.values[i]));
    return oids;
}

// Called by the sql_drop event trigger with every dropped relation: forgets
// dropped IMMVs and drops capture triggers that no IMMV needs any more.
void ForgetRelations(ArrayType* dropped) {
    const std::vector<Oid> relids = OidArray(dropped);
    SpiConnect();
    const std::vector<Oid> bases = ForgetCatalogRows(relids);
    for (Oid base : bases) {
        SyncHierarchyCapture(base);
        DropDeltaLogIfUnused(base);
        InvalidatePlans(base);
    }
    SpiFinish();
}

}  // namespace

}  // namespace ivmx::pg

using namespace ivmx::pg;

Datum ivmx_create_immv(PG_FUNCTION_ARGS) {
    return EntryGuard([&] {
        ApplyPendingChanges();
        return Int64GetDatum(CreateImmv(fcinfo));
    });
}

Datum ivmx_refresh_immv(PG_FUNCTION_ARGS) {
    return EntryGuard([&] {
        ApplyPendingChanges();
        return Int64GetDatum(RefreshImmv(fcinfo));
    });
}

Datum ivmx_get_immv_def(PG_FUNCTION_ARGS) {
    return EntryGuard([&] {
        std::string def = GetImmvDef(PG_GETARG_OID(0));
        return PgCall([&] { return PointerGetDatum(cstring_to_text(def.c_str())); });
    });
}

Datum ivmx_verify_immv(PG_FUNCTION_ARGS) {
    return EntryGuard([&] {
        ApplyPendingChanges();
        return Int64GetDatum(VerifyImmv(PG_GETARG_OID(0)));
    });
}

Datum ivmx_explain_immv(PG_FUNCTION_ARGS) {
    return EntryGuard([&] { return TextArray(ExplainImmv(PG_GETARG_OID(0))); });
}

Datum ivmx_forget_relations(PG_FUNCTION_ARGS) {
    return EntryGuard([&] { ForgetRelations(PG_GETARG_ARRAYTYPE_P(0)); });
}

Datum ivmx_restore_immv(PG_FUNCTION_ARGS) {
    return EntryGuard([&] {
        ApplyPendingChanges();
        RestoreImmv(fcinfo);
    });
}

Datum ivmx_immv_commands(PG_FUNCTION_ARGS) {
    return EntryGuard([&] { return TextArray(ImmvCommands(PG_GETARG_BOOL(0))); });
}
