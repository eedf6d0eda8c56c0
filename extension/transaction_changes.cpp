// Immediate maintenance at transaction scope (see
// extension/transaction_changes.hpp).
#include "transaction_changes.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "access.hpp"
#include "catalog.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "ivmx/pg/guards.hpp"
#include "maintainer.hpp"
#include "pg_util.hpp"

extern "C" {
#include "executor/executor.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
}

namespace ivmx::pg {

namespace {

ExecutorStart_hook_type g_previous_executor_start = nullptr;

// FROM-item reading the union of several change sets of one relation.
std::string UnionOf(const std::vector<std::string>& sources) {
    if (sources.size() == 1) return sources.front();
    std::vector<std::string> selects;
    for (const auto& s : sources) selects.push_back("SELECT * FROM " + s);
    return "(" + core::Join(selects, " UNION ALL ") + ")";
}

// The changed occurrences of a view's relations for a batch of changes.
std::vector<core::ChangedOccurrence> ChangedOccurrences(const core::ViewDefinition& view,
                                                        const std::vector<BatchedChange>& changes) {
    std::vector<core::ChangedOccurrence> changed;
    for (size_t i = 0; i < view.relations.size(); ++i) {
        std::vector<std::string> inserted, deleted;
        for (const auto& c : changes) {
            if (c.relid != view.relations[i].relation_id) continue;
            if (!c.inserted.empty()) inserted.push_back(c.inserted);
            if (!c.deleted.empty()) deleted.push_back(c.deleted);
        }
        if (inserted.empty() && deleted.empty()) continue;
        // Through the owner's row security policies, as in ViewMaintainer.
        const Oid relid = view.relations[i].relation_id;
        changed.push_back({i, inserted.empty() ? "" : VisibleRows(UnionOf(inserted), relid),
                           deleted.empty() ? "" : VisibleRows(UnionOf(deleted), relid)});
    }
    return changed;
}

// The active immediate IMMV `immv` among the maintainers of the changed
// relations, or nullptr if it reads none of them.
ViewMaintainer* ChangedReader(Oid immv, const std::vector<BatchedChange>& changes) {
    std::vector<Oid> relids;
    for (const auto& c : changes)
        if (std::find(relids.begin(), relids.end(), c.relid) == relids.end()) relids.push_back(c.relid);
    for (Oid r : relids)
        for (const auto& view : LoadedMaintenance(r).views)
            if (view->immv() == immv && view->active()) return view.get();
    return nullptr;
}

// An IMMV the saved changes of a transaction change, and the relations it
// reads among the changed ones.
struct Target {
    ViewMaintainer* view;
    std::vector<Oid> relids;
};

// The active immediate IMMVs reading the changed relations, in lock order.
std::vector<Target> TargetsOf(const std::vector<Oid>& relids) {
    std::vector<Target> targets;
    for (Oid relid : relids) {
        for (const auto& view : LoadedMaintenance(relid).views) {
            if (!view->active()) continue;
            auto same = std::find_if(targets.begin(), targets.end(),
                                     [&](const Target& t) { return t.view->immv() == view->immv(); });
            if (same != targets.end())
                same->relids.push_back(relid);
            else
                targets.push_back({view.get(), {relid}});
        }
    }
    std::sort(targets.begin(), targets.end(),
              [](const Target& a, const Target& b) { return LockOrderBefore(*a.view, *b.view); });
    return targets;
}

// The locks of the targets and, when `with_readers`, of every immediate
// IMMV their maintenance changes in turn (IMMVs reading them, which then
// also lock for writers of several relations), all in lock order.
// `readers` receives the IMMVs whose readers were looked up.
std::vector<ImmvLock> LocksFor(const std::vector<Target>& targets, bool with_readers, std::vector<Oid>& readers) {
    std::vector<std::pair<ViewMaintainer*, bool>> views;  // with only_write
    auto seen = [&](Oid immv) {
        return std::any_of(views.begin(), views.end(), [&](const auto& v) { return v.first->immv() == immv; });
    };
    // Nothing is written after these: an IMMV of which the transaction
    // changed one relation is maintained as for that relation's
    // single-statement writers (core::WriterConcurrencyOf).
    for (const auto& t : targets) views.push_back({t.view, !with_readers && t.relids.size() == 1});
    for (size_t i = 0; with_readers && i < views.size(); ++i) {
        if (!views[i].first->read_by_immvs()) continue;
        readers.push_back(views[i].first->immv());
        for (const auto& reader : LoadedMaintenance(views[i].first->immv()).views)
            if (reader->active() && !seen(reader->immv())) views.push_back({reader.get(), false});
    }
    std::stable_sort(views.begin(), views.end(),
                     [](const auto& a, const auto& b) { return LockOrderBefore(*a.first, *b.first); });
    std::vector<const ViewMaintainer*> all;
    for (const auto& v : views) all.push_back(v.first);
    std::vector<ImmvLock> locks = ReadLocks(all);
    for (const auto& [view, only_write] : views)
        for (const ImmvLock& lock : view->WriterLocks(only_write)) locks.push_back(lock);
    return locks;
}

// The IMMVs to maintain for changes of `relids`, every lock they need
// taken (LockAllOrWait). Loaded again when an invalidation arrived while
// waiting (an IMMV dropped, refreshed or switched to deferred meanwhile).
std::optional<std::vector<Target>> LockedTargets(const std::vector<Oid>& relids, bool& with_readers,
                                                 bool may_wait = true) {
    while (true) {
        std::vector<Target> targets = TargetsOf(relids);
        with_readers =
            std::any_of(targets.begin(), targets.end(), [](const Target& t) { return t.view->read_by_immvs(); });
        std::vector<Oid> loaded = relids;
        if (!LockAllOrWait(LocksFor(targets, with_readers, loaded), may_wait)) return std::nullopt;
        PgCall([] { AcceptInvalidationMessages(); });
        if (std::all_of(loaded.begin(), loaded.end(), MaintenanceValid)) return targets;
    }
}

// One relation's saved changes as one set of inserted and one of deleted
// rows (copied together when several statements made them), and the kind of
// change they amount to.
struct RelationChanges {
    Tuplestorestate* inserted = nullptr;
    Tuplestorestate* deleted = nullptr;
    ChangeKind kind = ChangeKind::Insert;
    uint64 rows = 0;
};

Tuplestorestate* Concatenate(const std::vector<Tuplestorestate*>& stores, Oid relid) {
    if (stores.empty()) return nullptr;
    if (stores.size() == 1) return stores.front();
    return PgCall([&] {
        Relation rel = table_open(relid, NoLock);
        TupleTableSlot* slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
        Tuplestorestate* all = tuplestore_begin_heap(false, false, work_mem);
        for (Tuplestorestate* store : stores) {
            tuplestore_rescan(store);
            while (tuplestore_gettupleslot(store, true, false, slot)) tuplestore_puttupleslot(all, slot);
        }
        ExecDropSingleTupleTableSlot(slot);
        table_close(rel, NoLock);
        return all;
    });
}

RelationChanges ChangesOf(Oid relid, const std::vector<PendingChange>& pending) {
    std::vector<Tuplestorestate*> inserted, deleted;
    size_t statements = 0;
    for (const auto& change : pending) {
        if (change.relid != relid || change.truncated) continue;
        ++statements;
        if (change.inserted != nullptr) inserted.push_back(change.inserted);
        if (change.deleted != nullptr) deleted.push_back(change.deleted);
    }
    RelationChanges out;
    out.inserted = Concatenate(inserted, relid);
    out.deleted = Concatenate(deleted, relid);
    out.kind = out.deleted == nullptr    ? ChangeKind::Insert
               : out.inserted == nullptr ? ChangeKind::Delete
               : statements == 1         ? LoadedMaintenance(relid).UpdateKind()
                                         : ChangeKind::Netted;
    out.rows =
        PgCall([&] { return uint64(tuplestore_tuple_count(out.inserted != nullptr ? out.inserted : out.deleted)); });
    return out;
}

// Applies one relation's changes to an IMMV reading no other changed
// relation, through its kept plans.
void ApplyRelationChanges(ViewMaintainer& view, Oid relid, const RelationChanges& changes) {
    RegisterChangedRows(changes.inserted, relid, kNewTableName);
    RegisterChangedRows(changes.deleted, relid, kOldTableName);
    view.Apply(changes.kind, changes.rows);
    PgCall([&] {
        if (changes.inserted != nullptr) SPI_unregister_relation(kNewTableName);
        if (changes.deleted != nullptr) SPI_unregister_relation(kOldTableName);
    });
}

// Applies the changes of several relations to an IMMV reading them all,
// each relation's rows registered under its own names.
void ApplySeveralRelations(ViewMaintainer& view, const std::vector<Oid>& relids,
                           std::map<Oid, RelationChanges>& netted) {
    std::vector<ViewMaintainer::ChangedSides> sides;
    for (Oid relid : relids) {
        const RelationChanges& changes = netted.at(relid);
        sides.push_back({relid, changes.inserted != nullptr, changes.deleted != nullptr});
    }
    std::sort(sides.begin(), sides.end());
    view.ApplyChanged(sides);
}

// Registers every changed relation's netted rows under its own names
// (ChangedRowsName) for the IMMVs reading several of them; returns the
// names to unregister.
std::vector<std::string> RegisterPerRelation(const std::map<Oid, RelationChanges>& netted) {
    std::vector<std::string> names;
    for (const auto& [relid, changes] : netted) {
        for (bool inserted : {true, false}) {
            Tuplestorestate* rows = inserted ? changes.inserted : changes.deleted;
            if (rows == nullptr) continue;
            names.push_back(ChangedRowsName(relid, inserted));
            RegisterChangedRows(rows, relid, names.back());
        }
    }
    return names;
}

// Recomputes the targets and every immediate IMMV reading them, in
// dependency order (a truncation among changes that cascade to other
// IMMVs: rare enough to recompute all of them). Locks taken.
void RecomputeWithReaders(const std::vector<Target>& targets) {
    std::vector<ViewMaintainer*> views;
    for (const auto& t : targets) views.push_back(t.view);
    for (size_t i = 0; i < views.size(); ++i) {
        if (!views[i]->read_by_immvs()) continue;
        for (const auto& reader : LoadedMaintenance(views[i]->immv()).views)
            if (reader->active() && std::none_of(views.begin(), views.end(),
                                                 [&](ViewMaintainer* v) { return v->immv() == reader->immv(); }))
                views.push_back(reader.get());
    }
    const core::DependencyGraph graph = LoadDependencyGraph();
    for (core::RelationId id : graph.TopologicalOrder())
        for (ViewMaintainer* view : views)
            if (view->immv() == id && view->OwnerMayRead()) view->RecomputeAt(nullptr);
}

// Applies the transaction's saved changes, once every IMMV involved is
// locked. IMMVs that feed no other IMMV are maintained one after the other
// in lock order, each from the netted changes of the relations it reads,
// through kept plans. When an IMMV read by other IMMVs changes, everything
// is applied as one batch in dependency order (as at the end of a
// statement changing several tables).
void ApplyTransactionChanges() {
    MaintenanceScope scope;  // keeps the loaded maintenance valid throughout
    const std::vector<PendingChange> pending = TakePendingChanges();
    std::vector<Oid> relids;
    for (const auto& change : pending)
        if (std::find(relids.begin(), relids.end(), change.relid) == relids.end()) relids.push_back(change.relid);
    std::vector<Oid> truncated;
    for (const auto& change : pending)
        if (change.truncated) truncated.push_back(change.relid);
    auto reads_truncated = [&](const Target& t) {
        return std::any_of(t.relids.begin(), t.relids.end(),
                           [&](Oid r) { return std::find(truncated.begin(), truncated.end(), r) != truncated.end(); });
    };
    bool feeds_immvs = false;
    const std::vector<Target> targets = *LockedTargets(relids, feeds_immvs);
    if (feeds_immvs && !truncated.empty()) {
        RecomputeWithReaders(targets);
        return;
    }
    if (feeds_immvs) {
        ApplyLockedChanges(RegisterChanges(pending));
        return;
    }
    std::map<Oid, RelationChanges> netted;
    for (const auto& target : targets)
        for (Oid relid : target.relids)
            if (!reads_truncated(target) && netted.find(relid) == netted.end())
                netted.emplace(relid, ChangesOf(relid, pending));
    std::vector<std::string> registered;
    for (const auto& target : targets) {
        if (reads_truncated(target)) {
            // What is left of a truncated table is recomputed, with the
            // transaction's other changes.
            if (target.view->OwnerMayRead()) target.view->RecomputeAt(nullptr);
            continue;
        }
        if (target.relids.size() == 1) {
            ApplyRelationChanges(*target.view, target.relids.front(), netted.at(target.relids.front()));
            continue;
        }
        if (registered.empty()) registered = RegisterPerRelation(netted);
        ApplySeveralRelations(*target.view, target.relids, netted);
    }
    PgCall([&] {
        for (const auto& name : registered) SPI_unregister_relation(name.c_str());
    });
}

void ApplySaved(bool at_commit) {
    if (!HasSavedChanges()) return;
    // An unfinished statement's changes are not all saved yet (its own
    // transition tables come at its end); at commit, none is running.
    if (!at_commit && StatementsInFlight()) return;
    const bool pushed = PgCall([] {
        if (ActiveSnapshotSet()) return false;
        PushActiveSnapshot(GetTransactionSnapshot());
        return true;
    });
    SpiConnect();
    WithMaintenanceSettings([] { ApplyTransactionChanges(); });
    SpiFinish();
    PgCall([&] {
        CommandCounterIncrement();
        if (pushed) PopActiveSnapshot();
    });
}

void PreCommitCallback(XactEvent event, void*) {
    if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE) return;
    if (!HasSavedChanges()) return;
    EntryGuard([] { ApplySaved(true); });
}

// Whether the plan reads an IMMV that saved changes will change, or calls
// a function that is not built in (it may read one while the statement
// runs, when the transaction's changes can no longer be applied: a write's
// changes are complete only at its end). The planner lists such functions
// among the plan's invalidation items.
bool NeedsSavedChanges(const PlannedStmt* stmt) {
    ListCell* cell;
    foreach (cell, stmt->rtable) {
        const RangeTblEntry* rte = static_cast<const RangeTblEntry*>(lfirst(cell));
        if (rte->rtekind == RTE_RELATION && IsStaleImmv(rte->relid)) return true;
    }
    foreach (cell, stmt->invalItems) {
        const PlanInvalItem* item = static_cast<const PlanInvalItem*>(lfirst(cell));
        if (item->cacheId == PROCOID) return true;
    }
    return false;
}

void IvmxExecutorStart(QueryDesc* query_desc, int eflags) {
    if (HasSavedChanges() && !MaintenanceScope::Active() && !IsParallelWorker() &&
        (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 && !StatementsInFlight() && NeedsSavedChanges(query_desc->plannedstmt)) {
        EntryGuard([] { ApplySaved(false); });
        // The query's snapshot was taken before: it sees what was applied,
        // as it sees its transaction's earlier commands.
        if (query_desc->snapshot != nullptr) query_desc->snapshot->curcid = GetCurrentCommandId(false);
    }
    if (g_previous_executor_start != nullptr)
        g_previous_executor_start(query_desc, eflags);
    else
        standard_ExecutorStart(query_desc, eflags);
}

}  // namespace

void NoteStaleReaders(const RelationMaintenance& maintenance) {
    for (const auto& view : maintenance.views) {
        if (!view->active() || IsStaleImmv(view->immv())) continue;
        NoteStaleImmv(view->immv());
        for (Oid reader : view->downstream()) NoteStaleImmv(reader);
    }
}

void ApplyPendingChanges() {
    ApplySaved(false);
}

bool LockMaintenanceForChanges(const std::vector<BatchedChange>& changes, bool may_wait) {
    MaintenanceScope scope;
    std::vector<Oid> relids;
    for (const auto& c : changes)
        if (std::find(relids.begin(), relids.end(), c.relid) == relids.end()) relids.push_back(c.relid);
    bool with_readers = false;
    return LockedTargets(relids, with_readers, may_wait).has_value();
}

void ApplyLockedChanges(std::vector<BatchedChange> changes) {
    MaintenanceScope scope;
    const core::DependencyGraph graph = LoadDependencyGraph();
    // The maintenance writes below count as part of one statement: their
    // changes are saved for the IMMVs downstream instead of applied at once.
    StatementStarted();
    for (core::RelationId id : graph.TopologicalOrder()) {
        ViewMaintainer* view = ChangedReader(id, changes);
        if (view == nullptr) continue;
        const auto& definition = view->definition();
        core::Delta delta = core::BuildDelta(definition, ChangedOccurrences(definition, changes));
        delta.consolidate = true;  // statements of one batch may cancel each other's rows
        view->ApplyDelta(delta);
        for (auto& change : TakeSavedChanges()) changes.push_back(change);
    }
    StatementFinished();
}

void InstallTransactionHooks() {
    RegisterXactCallback(PreCommitCallback, nullptr);
    g_previous_executor_start = ExecutorStart_hook;
    ExecutorStart_hook = IvmxExecutorStart;
}

}  // namespace ivmx::pg
