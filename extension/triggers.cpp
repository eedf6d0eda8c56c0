// Trigger functions of pg_ivmx: the capture trigger on base relations, which
// runs immediate maintenance at the end of every writing statement, and the
// guard trigger on IMMVs, which rejects writes that are not maintenance.
#include <algorithm>
#include <string>
#include <vector>

#include "ivmx/core/error.hpp"
#include "ivmx/pg/guards.hpp"
#include "ivmx/core/dependency_graph.hpp"
#include "ivmx/core/sql_text.hpp"
#include "access.hpp"
#include "maintainer.hpp"
#include "pg_util.hpp"
#include "statement_batch.hpp"
#include "../scheduler/workers.hpp"
#include "deferred_refresh.hpp"
#include "catalog.hpp"
#include "companions.hpp"
#include "transaction_changes.hpp"
#include "delta_log.hpp"
#include "ddl.hpp"
#include "hierarchy.hpp"

extern "C" {
#include "access/tupconvert.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(ivmx_capture_trigger);
PG_FUNCTION_INFO_V1(ivmx_guard_trigger);
Datum ivmx_capture_trigger(PG_FUNCTION_ARGS);
Datum ivmx_guard_trigger(PG_FUNCTION_ARGS);
}

namespace ivmx::pg {

namespace {

TriggerData* StatementTriggerData(FunctionCallInfo fcinfo, const char* function) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw core::Error(core::sqlstate::kTriggerProtocolViolated,
                          std::string(function) + " must be called as a trigger");
    TriggerData* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_FOR_STATEMENT(data->tg_event))
        throw core::Error(core::sqlstate::kTriggerProtocolViolated,
                          std::string(function) + " must be a statement-level trigger");
    // Only the triggers pg_ivmx creates (internal ones) may run it: a user's
    // own trigger calling it would maintain the table's IMMVs twice.
    if (!data->tg_trigger->tgisinternal)
        throw core::Error(core::sqlstate::kTriggerProtocolViolated,
                          std::string(function) + " may only be used by the triggers pg_ivmx creates",
                          "Trigger \"" + std::string(data->tg_trigger->tgname) + "\" is not one of them.",
                          "Drop the trigger.");
    return data;
}

// Applies the current statement's transition tables (registered with SPI)
// through each IMMV's cached plans: the common case of one statement
// changing one table. `maintenance` is the changed relation's, locked by
// LockMaintenanceForWriter.
void ApplyStatement(const RelationMaintenance& maintenance, ChangeKind kind, const TriggerData* data) {
    std::vector<ViewMaintainer*> views;
    for (const auto& view : maintenance.views)
        if (view->active()) views.push_back(view.get());
    if (kind == ChangeKind::Update) kind = maintenance.UpdateKind();
    Tuplestorestate* rows = data->tg_newtable != nullptr ? data->tg_newtable : data->tg_oldtable;
    const uint64 changed = rows != nullptr ? PgCall([&] { return uint64(tuplestore_tuple_count(rows)); }) : 0;
    MaintenanceScope scope;
    for (ViewMaintainer* view : views) view->Apply(kind, changed);
}

// Logs the statement's rows for the deferred IMMVs of the relation, and
// tells whether immediate IMMVs read it.
bool LogAndCheckImmediate(const RelationMaintenance& maintenance, ChangeKind kind, TriggerData* data) {
    if (maintenance.log) {
        maintenance.log->Write(kind, data);
        NoteDeferredChange();
    }
    for (const auto& view : maintenance.views)
        if (view->active()) return true;
    return false;
}

// Applies every change of the outermost statement at once: the current
// statement's transition tables and the ones saved from statements that
// finished earlier inside it (see ApplyLockedChanges), locked once for all
// of them. The rows of relid are logged for its deferred IMMVs once every
// lock is taken (see CaptureStatement).
void ApplyBatch(Oid relid, ChangeKind kind, TriggerData* data) {
    std::vector<BatchedChange> changes = TakeSavedChanges();
    const TransitionTables current = TransitionSources(kind);
    changes.push_back({relid, current.inserted, current.deleted});
    LockMaintenanceForChanges(changes);
    LogAndCheckImmediate(LoadedMaintenance(relid), kind, data);
    ApplyLockedChanges(std::move(changes));
}

// Whether the changes of relid need the batched path: an IMMV maintained
// from them is itself read by other IMMVs.
bool FeedsOtherImmvs(Oid relid) {
    for (const auto& view : LoadedMaintenance(relid).views)
        if (view->active() && view->read_by_immvs()) return true;
    return false;
}

void RefreshAfterTruncate(Oid relid) {
    if (StatementsInFlight())
        throw core::NotSupported("TRUNCATE of a table read by an IMMV inside another statement is not supported",
                                 "The table is truncated by a trigger or function while a statement changing tables "
                                 "read by IMMVs is running.");
    std::vector<ViewMaintainer*> views;
    const RelationMaintenance& maintenance = LockMaintenanceForWriter(relid, OnlyWriteOfTransaction(relid));
    for (const auto& view : maintenance.views)
        if (view->active() || view->deferred()) views.push_back(view.get());
    MaintenanceScope scope;
    for (ViewMaintainer* view : views) {
        if (!view->OwnerMayRead()) continue;
        if (view->active()) {
            view->Refresh(true);
            // Writers whose snapshot predates this recompute must not maintain it.
            SetImmvPopulated(view->immv(), true);
            InvalidatePlans(view->immv());
        } else {
            RefreshDeferred(view->immv(), RefreshKind::Full);
        }
    }
}

// A TRUNCATE outside maintenance: the deferred IMMVs reading the table are
// recomputed now; the immediate ones when the transaction's saved changes
// are applied (before commit, or before a query reads them), so that the
// IMMVs are locked in lock order like for any other change.
void RecordTruncation(Oid relid) {
    const RelationMaintenance& maintenance = LockMaintenanceForLater(relid);
    bool immediate = false;
    {
        MaintenanceScope scope;
        for (const auto& view : maintenance.views) {
            immediate |= view->active();
            if (view->deferred() && view->OwnerMayRead()) RefreshDeferred(view->immv(), RefreshKind::Full);
        }
    }
    if (!immediate) return;
    SaveTruncation(relid);
    NoteStaleReaders(maintenance);
}

// Saves the statement's changes of relid for its immediate IMMVs, which
// (and the IMMVs reading them) a reader must bring up to date first.
void SaveForLater(Oid relid, const RelationMaintenance& maintenance, const TriggerData* data) {
    SaveChange(relid, data->tg_newtable, data->tg_oldtable, RelationGetDescr(data->tg_relation));
    NoteStaleReaders(maintenance);
}

// The bases a TRUNCATE recorded in this (sub)transaction since the last
// other capture: a TRUNCATE of a partitioned table fires the triggers of
// every partition too, each serving the same bases.
struct Truncated {
    TransactionId xid = InvalidTransactionId;
    SubTransactionId subxid = InvalidSubTransactionId;
    std::vector<Oid> bases;
};
Truncated& RecentTruncations() {
    static Truncated truncated;
    return truncated;
}

// Whether base's truncation is still to be recorded (and notes it is).
bool FirstTruncation(Oid base) {
    Truncated& t = RecentTruncations();
    const TransactionId xid = PgCall([] { return GetTopTransactionIdIfAny(); });
    const SubTransactionId subxid = PgCall([] { return GetCurrentSubTransactionId(); });
    if (t.xid != xid || t.subxid != subxid) t = Truncated{xid, subxid, {}};
    if (std::find(t.bases.begin(), t.bases.end(), base) != t.bases.end()) return false;
    t.bases.push_back(base);
    return true;
}

void CaptureTruncation(const std::vector<Oid>& served) {
    WithMaintenanceSettings([&] {
        for (Oid base : served) {
            if (!FirstTruncation(base)) continue;
            if (MaintenanceScope::Active() || StatementsInFlight())
                RefreshAfterTruncate(base);
            else
                RecordTruncation(base);
        }
    });
}

// Whether rows captured on `fired` have base's columns, in its order (so
// that plans prepared for the base's own transition tables fit them).
bool SameColumns(Relation fired, Oid base) {
    if (RelationGetRelid(fired) == base) return true;
    return PgCall([&] {
        Relation rel = table_open(base, NoLock);
        TupleConversionMap* map = convert_tuples_by_name(RelationGetDescr(fired), RelationGetDescr(rel));
        table_close(rel, NoLock);
        if (map == nullptr) return true;
        free_conversion_map(map);
        return false;
    });
}

// The statement's changes of one base relation (the table it names, or a
// member of the base's hierarchy with the same columns): applied at the
// statement's end, or saved for later.
void CaptureForBase(Oid relid, ChangeKind kind, TriggerData* data, bool later, bool in_maintenance, bool only_write) {
    // Logging for deferred IMMVs runs no query: it needs no settings.
    // Whether to log the rows for a deferred IMMV or keep them for an
    // immediate one is decided under a lock that ivmx.set_mode's switch
    // conflicts with: the mode locks for changes kept for later; the IMMVs'
    // own locks for changes applied now. (Maintenance writing an IMMV holds
    // the locks of every IMMV its writes reach already, taken by
    // LockMaintenanceForChanges: no mode lock for those, which set_mode
    // takes first.) Each path takes its locks once and passes the
    // maintenance it locked along.
    if (later) {
        const RelationMaintenance& maintenance =
            in_maintenance ? LoadedMaintenance(relid) : LockMaintenanceForLater(relid);
        // An enclosing statement applies this change with its own, or the
        // transaction does before it commits (transaction_changes.hpp).
        if (LogAndCheckImmediate(maintenance, kind, data)) SaveForLater(relid, maintenance, data);
    } else if (HasSavedChanges() || FeedsOtherImmvs(relid)) {
        WithMaintenanceSettings([&] { ApplyBatch(relid, kind, data); });
    } else {
        const RelationMaintenance& maintenance = LockMaintenanceForWriter(relid, only_write);
        if (LogAndCheckImmediate(maintenance, kind, data))
            WithMaintenanceSettings([&] { ApplyStatement(maintenance, kind, data); });
    }
}

// A statement's rows for one base relation, in the base's columns when
// they are not the transition tables themselves.
struct BaseRows {
    Tuplestorestate* inserted;
    Tuplestorestate* deleted;
    TupleDesc desc;
    bool transition;  // the statement's own transition tables
};

// The statement's rows for `base`: its transition tables, or, for a base
// below the table the statement names (a partition of it), the rows that
// are the base's now.
BaseRows RowsForBase(Oid base, const RelationMaintenance& named, TriggerData* data) {
    const TupleDesc desc = RelationGetDescr(data->tg_relation);
    if (std::find(named.served_below.begin(), named.served_below.end(), base) == named.served_below.end())
        return {data->tg_newtable, data->tg_oldtable, desc, true};
    const TupleDesc base_desc = PgCall([&] {
        Relation rel = table_open(base, NoLock);
        TupleDesc copy = CreateTupleDescCopy(RelationGetDescr(rel));
        table_close(rel, NoLock);
        return copy;
    });
    return {FilteredForPartition(data->tg_newtable, desc, base), FilteredForPartition(data->tg_oldtable, desc, base),
            base_desc, false};
}

// Logs the rows for the deferred IMMVs of the base (LogAndCheckImmediate).
// Rows other than the transition tables stand in for them under their
// names while the log is written (a log written by a statement reads them).
bool LogRowsAndCheckImmediate(const RelationMaintenance& maintenance, Oid base, ChangeKind kind, TriggerData* data,
                              const BaseRows& rows) {
    if (rows.transition || !maintenance.log) return LogAndCheckImmediate(maintenance, kind, data);
    PgCall([&] {
        if (data->tg_newtable != nullptr) SPI_unregister_relation(kNewTableName);
        if (data->tg_oldtable != nullptr) SPI_unregister_relation(kOldTableName);
    });
    RegisterChangedRows(rows.inserted, base, kNewTableName);
    RegisterChangedRows(rows.deleted, base, kOldTableName);
    maintenance.log->Write(kind, rows.desc, rows.inserted, rows.deleted);
    PgCall([&] {
        if (rows.inserted != nullptr) SPI_unregister_relation(kNewTableName);
        if (rows.deleted != nullptr) SPI_unregister_relation(kOldTableName);
        SPI_register_trigger_data(data);
    });
    NoteDeferredChange();
    for (const auto& view : maintenance.views)
        if (view->active()) return true;
    return false;
}

// The statement's changes of several base relations of one hierarchy (a
// statement naming a partition changes its own rows and its parent's), of
// a partition of the table it names, or of a base whose columns the named
// table has in another order: each base's rows are saved in its own
// columns, then applied together.
void CaptureForBases(const RelationMaintenance& named, ChangeKind kind, TriggerData* data, bool later,
                     bool in_maintenance) {
    std::vector<BaseRows> rows;
    for (Oid base : named.served) rows.push_back(RowsForBase(base, named, data));
    const std::vector<Oid> served = named.served;  // `named` may be reloaded below
    if (later) {
        for (size_t i = 0; i < served.size(); ++i) {
            const RelationMaintenance& maintenance =
                in_maintenance ? LoadedMaintenance(served[i]) : LockMaintenanceForLater(served[i]);
            if (LogRowsAndCheckImmediate(maintenance, served[i], kind, data, rows[i])) {
                SaveChange(served[i], rows[i].inserted, rows[i].deleted, rows[i].desc);
                NoteStaleReaders(maintenance);
            }
        }
        return;
    }
    WithMaintenanceSettings([&] {
        for (size_t i = 0; i < served.size(); ++i)
            SaveChange(served[i], rows[i].inserted, rows[i].deleted, rows[i].desc);
        std::vector<BatchedChange> changes = TakeSavedChanges();
        LockMaintenanceForChanges(changes);
        for (size_t i = 0; i < served.size(); ++i)
            LogRowsAndCheckImmediate(LoadedMaintenance(served[i]), served[i], kind, data, rows[i]);
        ApplyLockedChanges(std::move(changes));
    });
}

void CaptureStatement(FunctionCallInfo fcinfo) {
    TriggerData* data = StatementTriggerData(fcinfo, "ivmx.capture_trigger");
    const TriggerEvent event = data->tg_event;
    if (TRIGGER_FIRED_BEFORE(event)) {
        StatementStarted();
        RecentTruncations().bases.clear();
        return;
    }
    // The table the statement names: the base relation, or a member of the
    // hierarchy of the bases it serves (extension/hierarchy.hpp).
    const Oid fired = RelationGetRelid(data->tg_relation);
    const bool truncate = TRIGGER_FIRED_BY_TRUNCATE(event);
    const bool last = truncate || StatementFinished();
    const ChangeKind kind = TRIGGER_FIRED_BY_INSERT(event)   ? ChangeKind::Insert
                            : TRIGGER_FIRED_BY_DELETE(event) ? ChangeKind::Delete
                                                             : ChangeKind::Update;
    SpiConnect();
    const RelationMaintenance& named = LoadedMaintenance(fired);
    const std::vector<Oid> served = named.served;
    if (truncate) {
        CaptureTruncation(served);
        SpiFinish();
        return;
    }
    RecentTruncations().bases.clear();
    if (served.empty()) {
        SpiFinish();
        return;
    }
    PgCall([&] { SPI_register_trigger_data(data); });
    const bool in_maintenance = MaintenanceScope::Active();
    // Whether the statement's changes are applied at its end: when it is its
    // transaction's only write. Maintenance's own writes (of a deferred
    // refresh, or of a batch) are applied with the maintenance that makes
    // them, whatever the statement.
    const bool only_write = last && OnlyWriteOfTransaction(fired);
    const bool later = !last || (!in_maintenance && !only_write);
    if (served.size() == 1 && named.served_below.empty() && SameColumns(data->tg_relation, served.front()))
        CaptureForBase(served.front(), kind, data, later, in_maintenance, only_write);
    else
        CaptureForBases(LoadedMaintenance(fired), kind, data, later, in_maintenance);
    SpiFinish();
}

void GuardWrite(FunctionCallInfo fcinfo) {
    TriggerData* data = StatementTriggerData(fcinfo, "ivmx.guard_trigger");
    if (MaintenanceScope::Active()) return;
    const Oid immv = ImmvOfCompanion(RelationGetRelid(data->tg_relation));
    PgCall([&] {
        if (OidIsValid(immv))
            ereport(ERROR,
                    (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                     errmsg("cannot change table \"%s\", which belongs to incrementally maintainable materialized "
                            "view \"%s\"",
                            RelationGetRelationName(data->tg_relation), get_rel_name(immv)),
                     errdetail("It holds state that pg_ivmx keeps to maintain the IMMV."),
                     errhint("Change the IMMV's base tables instead, or recompute it with ivmx.refresh_immv().")));
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("cannot change incrementally maintainable materialized view \"%s\"",
                               RelationGetRelationName(data->tg_relation)),
                        errdetail("Its contents are maintained by pg_ivmx from its base tables."),
                        errhint("Change the base tables instead, or recompute it with ivmx.refresh_immv().")));
    });
}

}  // namespace

}  // namespace ivmx::pg

Datum ivmx_capture_trigger(PG_FUNCTION_ARGS) {
    return ivmx::pg::EntryGuard([&] {
        ivmx::pg::CaptureStatement(fcinfo);
        return PointerGetDatum(nullptr);
    });
}

Datum ivmx_guard_trigger(PG_FUNCTION_ARGS) {
    return ivmx::pg::EntryGuard([&] {
        ivmx::pg::GuardWrite(fcinfo);
        return PointerGetDatum(nullptr);
    });
}
