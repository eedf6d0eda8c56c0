// Immediate maintenance cache and execution (see extension/maintainer.hpp).
#include "maintainer.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "access.hpp"
#include "analysed_views.hpp"
#include "ddl.hpp"
#include "delta_log.hpp"
#include "hierarchy.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"

namespace ivmx::pg {

namespace {

// Backend-local cache, keyed by base relation OID. Node-based: references to
// entries survive rehashing; entries are reloaded in place, never erased.
std::unordered_map<Oid, RelationMaintenance>& Cache() {
    static std::unordered_map<Oid, RelationMaintenance> cache;
    return cache;
}

// Entries replaced while maintenance may still be running above us; freed
// once no maintenance is in progress.
std::vector<RelationMaintenance>& Retired() {
    static std::vector<RelationMaintenance> retired;
    return retired;
}

// Marks invalid the entries of relid (every entry for InvalidOid) as a
// base relation, and the analyses that read relid (the entries built on
// them are then invalid too: RelationMaintenance::Valid). Only flags:
// nothing allocated, nothing thrown.
void InvalidateEntries(Oid relid) {
    InvalidateAnalysesReading(relid);
    for (auto& [base, entry] : Cache())
        if (!OidIsValid(relid) || base == relid) entry.valid = false;
}

// The invalidation callbacks: PostgreSQL calls them wherever invalidation
// messages are processed, where an ERROR is not allowed.
void InvalidateCallback(Datum, Oid relid) {
    CallbackGuard("pg_ivmx relcache invalidation callback", [relid] { InvalidateEntries(relid); });
}

// A function, operator, type, collation or schema changed (renamed, say):
// the analyses naming it, and the entries built on them, are stale.
void InvalidateNamedCallback(Datum, int cache_id, uint32 hash_value) {
    CallbackGuard("pg_ivmx syscache invalidation callback",
                  [cache_id, hash_value] { InvalidateAnalysesNaming(cache_id, hash_value); });
}

// Loads the maintenance of base relation relid into `entry` (its cache
// entry), retiring what the entry held. SPI connected, under
// WithMaintenanceSettings.
void LoadRelationMaintenance(Oid relid, RelationMaintenance& entry) {
    Retired().push_back(std::move(entry));
    entry = RelationMaintenance();
    entry.valid = true;  // cleared by any invalidation arriving from here on
    try {
        bool logs = false;
        for (Oid immv : ImmvsReading(relid)) {
            // Lock before reading the IMMV's definition and names: a DROP or
            // RENAME we waited for is then seen (AccessShareLock conflicts
            // with neither maintenance lock mode of other writers).
            PgCall([&] { LockRelationOid(immv, AccessShareLock); });
            auto record = LoadImmv(immv);
            if (!record || !PgCall([&] { return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(immv)); })) continue;
            entry.views.push_back(LoadMaintainer(*record, relid));
            logs |= entry.views.back()->deferred();
        }
        if (logs)
            if (auto log = DeltaLogOf(relid)) entry.log = std::make_unique<DeltaLogWriter>(relid, *log);
        ServedBases served = ServedRelations(relid);
        entry.served = std::move(served.all);
        entry.served_below = std::move(served.below);
        if (!entry.views.empty()) {
            entry.cascaded_into =
                !SpiOids(
                     "SELECT conrelid FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype = 'f' "
                     "AND (confupdtype IN ('c', 'n', 'd') OR confdeltype IN ('c', 'n', 'd')) LIMIT 1",
                     relid)
                     .empty();
            const core::DependencyGraph graph = LoadDependencyGraph();
            const std::map<core::RelationId, int> depths = graph.Depths();
            for (auto& view : entry.views) {
                auto depth = depths.find(view->immv());
                std::vector<Oid> downstream;
                if (view->read_by_immvs())
                    for (core::RelationId id : graph.Downstream(view->immv())) downstream.push_back(id);
                view->set_place(depth != depths.end() ? depth->second : 1, std::move(downstream));
            }
            std::sort(entry.views.begin(), entry.views.end(),
                      [](const auto& a, const auto& b) { return LockOrderBefore(*a, *b); });
        }
    } catch (...) {
        entry.valid = false;  // a failed load must be retried, never used
        throw;
    }
}

ItemPointerData TidAt(uint64 row) {
    bool isnull = false;
    Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 1, &isnull);
    return *reinterpret_cast<ItemPointer>(DatumGetPointer(d));
}

uint64 CountAt(uint64 row) {
    bool isnull = false;
    Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 1, &isnull);
    return isnull ? 0 : static_cast<uint64>(DatumGetInt64(d));
}

bool BoolAt(uint64 row, int column) {
    bool isnull = false;
    Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, &isnull);
    return !isnull && DatumGetBool(d);
}

}  // namespace

TransitionTables TransitionSources(ChangeKind kind) {
    const std::string new_rows = core::QuoteIdent(kNewTableName);
    const std::string old_rows = core::QuoteIdent(kOldTableName);
    switch (kind) {
        case ChangeKind::Insert:
            return {new_rows, ""};
        case ChangeKind::Delete:
            return {"", old_rows};
        case ChangeKind::Update:
        case ChangeKind::Netted:
            return {new_rows, old_rows};
    }
    return {};
}

ViewMaintainer::ViewMaintainer(const ImmvRecord& record, std::shared_ptr<const AnalysedView> analysed,
                               Oid changed_relation)
    : record_(record),
      analysed_(std::move(analysed)),
      definition_(analysed_->definition),
      owner_(analysed_->owner),
      changed_relation_(changed_relation),
      writer_concurrency_(core::WriterConcurrencyOf(definition_, changed_relation)) {
    lock_class_ = PgCall([] { return CatalogRelid("immv"); });
    for (const auto& rel : definition_.relations) {
        read_relations_.push_back(rel.relation_id);
        for (Oid member : Descendants(rel.relation_id)) read_relations_.push_back(member);
    }
    if (writer_concurrency_ != core::WriterConcurrency::PerRelation) return;
    for (const auto& rel : definition_.relations) lock_relations_.push_back(rel.relation_id);
    // One order for every writer: no deadlock among them.
    std::sort(lock_relations_.begin(), lock_relations_.end());
    lock_relations_.erase(std::unique(lock_relations_.begin(), lock_relations_.end()), lock_relations_.end());
}

void ViewMaintainer::LockModesShared() const {
    PgCall([&] {
        LockDatabaseObject(lock_class_, immv(), kModeLockSubId, ShareLock);
        for (Oid reader : downstream_) LockDatabaseObject(lock_class_, reader, kModeLockSubId, ShareLock);
    });
}

std::vector<ImmvLock> ReadLocks(const std::vector<const ViewMaintainer*>& views) {
    std::vector<Oid> read;
    for (const ViewMaintainer* view : views)
        for (Oid relid : view->read_relations()) read.push_back(relid);
    std::sort(read.begin(), read.end());
    read.erase(std::unique(read.begin(), read.end()), read.end());
    std::vector<ImmvLock> locks;
    for (Oid relid : read) locks.push_back({relid, InvalidOid, 0, AccessShareLock});
    return locks;
}

void LockImmvModeExclusive(Oid immv) {
    PgCall([&] { LockDatabaseObject(CatalogRelid("immv"), immv, kModeLockSubId, ExclusiveLock); });
}

ViewMaintainer::~ViewMaintainer() {
    for (auto& steps : prepared_) {
        if (!steps) continue;
        for (auto& step : *steps)
            if (step.plan != nullptr) SPI_freeplan(step.plan);
    }
    for (auto& [sides, steps] : prepared_changed_)
        for (auto& step : steps)
            if (step.plan != nullptr) SPI_freeplan(step.plan);
}

namespace {

// Whether the statement being captured is its transaction's only write: a
// top-level INSERT, UPDATE, DELETE, MERGE or COPY FROM of `relid` itself,
// without a writable CTE, outside a transaction block. Anything else (a
// write inside a function, procedure or DO block, a trigger's write to
// another table, a writable CTE) may come with writes to the view's other
// tables in the same transaction, before or after it.
bool OnlyWriteOfStatement(Oid relid) {
    if (IsTransactionBlock() || ActivePortal == nullptr || list_length(ActivePortal->stmts) != 1) return false;
    Node* node = static_cast<Node*>(linitial(ActivePortal->stmts));
    if (!IsA(node, PlannedStmt)) return false;
    const PlannedStmt* stmt = castNode(PlannedStmt, node);
    if (stmt->commandType == CMD_UTILITY) {
        // COPY names its table. The name cannot be looked up here (this also
        // runs under maintenance's fixed search_path), but the capture
        // trigger fires on the table COPY writes: a matching name is it.
        const auto* copy = stmt->utilityStmt != nullptr && IsA(stmt->utilityStmt, CopyStmt)
                               ? castNode(CopyStmt, stmt->utilityStmt)
                               : nullptr;
        if (copy == nullptr || !copy->is_from || copy->relation == nullptr) return false;
        const char* name = get_rel_name(relid);
        const char* schema = get_namespace_name(get_rel_namespace(relid));
        return name != nullptr && strcmp(copy->relation->relname, name) == 0 &&
               (copy->relation->schemaname == nullptr ||
                (schema != nullptr && strcmp(copy->relation->schemaname, schema) == 0));
    }
    if (stmt->hasModifyingCTE) return false;
    if (stmt->commandType != CMD_INSERT && stmt->commandType != CMD_UPDATE && stmt->commandType != CMD_DELETE &&
        stmt->commandType != CMD_MERGE)
        return false;
    // The table the statement names (a partitioned or inheritance parent
    // rather than the partitions written).
    if (stmt->planTree == nullptr || !IsA(stmt->planTree, ModifyTable)) return false;
    const Index target = castNode(ModifyTable, stmt->planTree)->nominalRelation;
    return target != 0 && rt_fetch(target, stmt->rtable)->relid == relid;
}

}  // namespace

bool OnlyWriteOfTransaction(Oid relid) {
    return PgCall([&] { return OnlyWriteOfStatement(relid); });
}

std::vector<ImmvLock> ViewMaintainer::WriterLocks(bool only_write) const {
    if (writer_concurrency_ == core::WriterConcurrency::Free) return {{immv(), InvalidOid, 0, RowExclusiveLock}};
    // Writers of different tables take turns through object locks; a
    // transaction that writes two of them would upgrade its own and
    // could deadlock with another doing the same: it takes turns with
    // every writer from its first write on.
    if (writer_concurrency_ == core::WriterConcurrency::Exclusive || !only_write)
        return {{immv(), InvalidOid, 0, ExclusiveLock}};
    std::vector<ImmvLock> locks{{immv(), InvalidOid, 0, RowExclusiveLock}};
    // RowExclusiveLock is shared by writers of the same relation and
    // conflicts with the ShareLock writers of other relations take.
    for (Oid relation : lock_relations_)
        locks.push_back({immv(), lock_class_, static_cast<int32>(relation),
                         relation == changed_relation_ ? RowExclusiveLock : ShareLock});
    return locks;
}

namespace {

bool TryLock(const ImmvLock& lock) {
    return OidIsValid(lock.classid) ? ConditionalLockDatabaseObject(lock.classid, lock.relid, lock.subid, lock.mode)
                                    : ConditionalLockRelationOid(lock.relid, lock.mode);
}

void Unlock(const ImmvLock& lock) {
    if (OidIsValid(lock.classid))
        UnlockDatabaseObject(lock.classid, lock.relid, lock.subid, lock.mode);
    else
        UnlockRelationOid(lock.relid, lock.mode);
}

// Rounds of LockAllOrWait that release what they took before waiting.
constexpr int kLockRounds = 16;

void Wait(const ImmvLock& lock) {
    if (OidIsValid(lock.classid))
        LockDatabaseObject(lock.classid, lock.relid, lock.subid, lock.mode);
    else
        LockRelationOid(lock.relid, lock.mode);
}

}  // namespace

bool LockAllOrWait(const std::vector<ImmvLock>& locks, bool may_wait) {
    if (locks.empty()) return true;
    return PgCall([&] {
        // Which locks are held: palloc'd, as the waits below may end in an
        // ERROR (a cancel, a deadlock, a lock timeout).
        bool* held = static_cast<bool*>(palloc0(sizeof(bool) * locks.size()));
        for (int round = 0;; ++round) {
            size_t busy = locks.size();
            for (size_t i = 0; i < locks.size() && busy == locks.size(); ++i) {
                if (held[i]) continue;
                if (TryLock(locks[i]))
                    held[i] = true;
                else
                    busy = i;
            }
            if (busy == locks.size()) break;
            if (!may_wait) {
                for (size_t i = locks.size(); i-- > 0;)
                    if (held[i]) Unlock(locks[i]), held[i] = false;
                pfree(held);
                return false;
            }
            if (round == kLockRounds) {
                // A conditional request also fails behind a waiter that a
                // lock held since before lets this transaction pass (the
                // waiter waits for it anyway): after some rounds, wait for
                // the rest in order, as any statement does, holding none
                // that comes later in the order.
                for (size_t i = locks.size(); i-- > busy;)
                    if (held[i]) Unlock(locks[i]), held[i] = false;
                for (size_t i = busy; i < locks.size(); ++i) Wait(locks[i]), held[i] = true;
                break;
            }
            // Wait holding none of the others: another committing
            // transaction that holds the busy one may be waiting for one we
            // took. The one waited for is kept.
            for (size_t i = locks.size(); i-- > 0;)
                if (held[i]) Unlock(locks[i]), held[i] = false;
            Wait(locks[busy]);
            held[busy] = true;
            CHECK_FOR_INTERRUPTS();
        }
        pfree(held);
        return true;
    });
}

std::vector<ViewMaintainer::PreparedStep>& ViewMaintainer::Prepared(ChangeKind kind, bool in_place) {
    auto& slot = prepared_[static_cast<size_t>(kind) * 2 + (in_place ? 1 : 0)];
    if (slot) return *slot;
    // The statement's rows reach the view through the owner's row security
    // policies, as the base relation's rows do when the view's query reads it.
    const TransitionTables tables = TransitionSources(kind);
    core::Delta delta =
        core::RelationDelta(definition_, changed_relation_, VisibleRows(tables.inserted, changed_relation_),
                            VisibleRows(tables.deleted, changed_relation_));
    delta.update_in_place = in_place;
    // A row inserted by one statement may be deleted by a later one.
    delta.consolidate |= kind == ChangeKind::Netted;
    slot = PrepareSteps(delta);
    return *slot;
}

std::vector<ViewMaintainer::PreparedStep> ViewMaintainer::PrepareSteps(const core::Delta& delta) const {
    core::MaintenancePlan plan = core::BuildMaintenancePlan(definition_, delta);
    std::vector<PreparedStep> steps;
    for (const auto& step : plan.steps) {
        PreparedStep prepared;
        prepared.input = step.input;
        prepared.reports_rows = step.reports_rows;
        prepared.returns_count = step.returns_count;
        prepared.plan = PgCall([&] {
            Oid argtype = TIDARRAYOID;
            const int nargs = step.input == core::StepInput::None ? 0 : 1;
            SPIPlanPtr p = SPI_prepare(step.sql.c_str(), nargs, &argtype);
            if (p == nullptr)
                elog(ERROR, "pg_ivmx could not prepare maintenance statement: %s", SPI_result_code_string(SPI_result));
            SPI_keepplan(p);
            return p;
        });
        steps.push_back(prepared);
    }
    return steps;
}

std::string ChangedRowsName(Oid relid, bool inserted) {
    return std::string(inserted ? "__ivmx_new_" : "__ivmx_old_") + std::to_string(relid);
}

void ViewMaintainer::ApplyChanged(const std::vector<ChangedSides>& changed) {
    if (!OwnerMayRead()) return;
    CheckRecomputeVisible(record_);
    Snapshot snapshot = MaintenanceSnapshot();
    AsRole(owner_, [&] {
        auto it = prepared_changed_.find(changed);
        if (it == prepared_changed_.end()) {
            std::vector<core::ChangedOccurrence> occurrences;
            for (size_t i = 0; i < definition_.relations.size(); ++i) {
                const Oid relid = definition_.relations[i].relation_id;
                for (const auto& c : changed) {
                    if (c.relid != relid) continue;
                    // Through the owner's row security policies, as in Prepared.
                    occurrences.push_back(
                        {i, c.inserted ? VisibleRows(core::QuoteIdent(ChangedRowsName(relid, true)), relid) : "",
                         c.deleted ? VisibleRows(core::QuoteIdent(ChangedRowsName(relid, false)), relid) : ""});
                }
            }
            core::Delta delta = core::BuildDelta(definition_, occurrences);
            delta.consolidate = true;  // statements of one transaction may cancel each other's rows
            it = prepared_changed_.emplace(changed, PrepareSteps(delta)).first;
        }
        RunSteps(it->second, snapshot);
    });
    if (snapshot != nullptr) PgCall([&] { UnregisterSnapshot(snapshot); });
}

// In REPEATABLE READ / SERIALIZABLE the transaction snapshot may predate
// changes other writers committed to the other base relations of a join
// (they could not conflict on IMMV rows), or to the one relation of a join
// tree with functions in FROM, whose delta reads the relation's state, or
// of a top-K, computed again from it: such views, whose writers take turns on the IMMV lock, compute their delta in
// the latest snapshot instead, as in READ COMMITTED. Returns nullptr when
// the current snapshot is right.
Snapshot ViewMaintainer::MaintenanceSnapshot() const {
    if (definition_.relations.size() < 2 && !core::ReadsRelationState(definition_)) return nullptr;
    return PgCall([] { return IsolationUsesXactSnapshot() ? RegisterSnapshot(GetLatestSnapshot()) : nullptr; });
}

bool ViewMaintainer::OwnerMayRead() {
    const std::optional<Oid> unreadable = UnreadableRelation(definition_, owner_);
    if (!unreadable) return true;
    // Like a materialized view whose owner lost the privilege: the IMMV is
    // no longer fed (it keeps the rows it had, suspended until a refresh by
    // its owner succeeds); the writer's statement goes on.
    SuspendImmv(immv());
    InvalidatePlans(immv());
    const Oid relid = *unreadable;
    PgCall([&] {
        ereport(WARNING,
                (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                 errmsg("IMMV \"%s\" is no longer maintained", get_rel_name(immv())),
                 errdetail("Its owner may not read every column it reads of table \"%s\".", get_rel_name(relid)),
                 errhint("Grant the owner SELECT on the table again, then refresh the IMMV with "
                         "ivmx.refresh_immv().")));
    });
    record_.populated = false;
    return false;
}

void ViewMaintainer::Apply(ChangeKind kind, uint64 rows) {
    if (!OwnerMayRead()) return;
    CheckRecomputeVisible(record_);
    Snapshot snapshot = MaintenanceSnapshot();
    const bool in_place = kind != ChangeKind::Netted && core::UpdatesInPlace(definition_, rows);
    // Planned as the owner too: the plan depends on who runs it (row
    // security, permissions).
    AsRole(owner_, [&] { RunSteps(Prepared(kind, in_place), snapshot); });
    if (snapshot != nullptr) PgCall([&] { UnregisterSnapshot(snapshot); });
}

uint64 ViewMaintainer::ApplyDelta(const core::Delta& delta, Snapshot snapshot) {
    Snapshot own = nullptr;
    if (snapshot == nullptr) {
        if (!OwnerMayRead()) return 0;
        CheckRecomputeVisible(record_);
        snapshot = own = MaintenanceSnapshot();
    }
    std::vector<PreparedStep> steps;
    for (const auto& step : core::BuildMaintenancePlan(definition_, delta).steps)
        steps.push_back({nullptr, step.sql, step.input, step.reports_rows, step.returns_count});
    const uint64 written = RunSteps(steps, snapshot);
    if (own != nullptr) PgCall([&] { UnregisterSnapshot(own); });
    return written;
}

uint64 ViewMaintainer::RecomputeAt(Snapshot snapshot) {
    std::vector<PreparedStep> steps;
    for (const auto& sql : core::RefreshStatements(definition_, true, false))
        steps.push_back({nullptr, sql, core::StepInput::None, false});
    return RunSteps(steps, snapshot);
}

namespace {

// Executes one step's statement: a kept plan, or SQL planned for this use
// (then, with a snapshot, run in exactly that snapshot).
int ExecuteStatement(SPIPlanPtr plan, const char* sql, int nargs, Datum* args, Snapshot snapshot) {
    Oid argtype = TIDARRAYOID;
    if (plan != nullptr && snapshot != nullptr)
        return SPI_execute_snapshot(plan, args, nullptr, snapshot, InvalidSnapshot, false, true, 0);
    if (plan != nullptr) return SPI_execute_plan(plan, args, nullptr, false, 0);
    if (snapshot == nullptr) return SPI_execute_with_args(sql, nargs, &argtype, args, nullptr, false, 0);
    SPIPlanPtr once = SPI_prepare(sql, nargs, &argtype);
    if (once == nullptr)
        elog(ERROR, "pg_ivmx could not plan maintenance statement: %s", SPI_result_code_string(SPI_result));
    int rc = SPI_execute_snapshot(once, args, nullptr, snapshot, InvalidSnapshot, false, true, 0);
    SPI_freeplan(once);
    return rc;
}

// What one maintenance statement returned, in palloc'd memory (copied into
// C++ containers once the guard has returned).
struct StepOutcome {
    uint64 written;         // rows it wrote, or the count it returned
    ItemPointerData* gone;  // IMMV rows it reported gone (reports_rows)
    uint64 gone_count;
    ItemPointerData* stale;  // IMMV rows whose min/max it reported lost
    uint64 stale_count;
};

// Runs one maintenance statement, with the ntids IMMV rows at tids as its
// array parameter $1 when tids is not null. PostgreSQL data only: runs
// inside PgCall.
StepOutcome RunStatement(SPIPlanPtr plan, const char* sql, const ItemPointerData* tids, int ntids, bool returns_count,
                         bool reports_rows, Snapshot snapshot) {
    StepOutcome outcome{};
    Datum arg = (Datum)0;
    if (tids != nullptr) {
        Datum* items = static_cast<Datum*>(palloc(sizeof(Datum) * Max(ntids, 1)));
        for (int i = 0; i < ntids; ++i) items[i] = PointerGetDatum(&tids[i]);
        arg = PointerGetDatum(construct_array(items, ntids, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT));
        pfree(items);
    }
    const int nargs = tids != nullptr ? 1 : 0;
    const int rc = ExecuteStatement(plan, sql, nargs, nargs ? &arg : nullptr, snapshot);
    if (rc < 0) elog(ERROR, "pg_ivmx maintenance statement failed: %s", SPI_result_code_string(rc));
    if (returns_count) {
        outcome.written = CountAt(0);
        return outcome;
    }
    outcome.written = SPI_processed;
    if (!reports_rows) return outcome;
    const Size size = sizeof(ItemPointerData) * Max(SPI_processed, uint64(1));
    outcome.gone = static_cast<ItemPointerData*>(palloc(size));
    outcome.stale = static_cast<ItemPointerData*>(palloc(size));
    for (uint64 row = 0; row < SPI_processed; ++row) {
        if (BoolAt(row, 2))
            outcome.gone[outcome.gone_count++] = TidAt(row);
        else if (BoolAt(row, 3))
            outcome.stale[outcome.stale_count++] = TidAt(row);
    }
    SPI_freetuptable(SPI_tuptable);
    return outcome;
}

// Appends the count tids at `from` (palloc'd, freed here) to `to`.
void TakeTids(std::vector<ItemPointerData>& to, ItemPointerData* from, uint64 count) {
    if (from == nullptr) return;
    to.insert(to.end(), from, from + count);
    pfree(from);
}

}  // namespace

// Runs maintenance steps in order as the IMMV's owner, feeding the rows
// reported by earlier steps (gone, stale) to the steps that take them.
uint64 ViewMaintainer::RunSteps(const std::vector<PreparedStep>& steps, Snapshot snapshot) {
    std::vector<ItemPointerData> gone, stale;
    uint64 written = 0;
    AsRole(owner_, [&] {
        for (const PreparedStep& step : steps) {
            const std::vector<ItemPointerData>* input = step.input == core::StepInput::TidsToDelete      ? &gone
                                                        : step.input == core::StepInput::TidsToRecompute ? &stale
                                                                                                         : nullptr;
            if (input != nullptr && input->empty()) continue;
            const ItemPointerData* tids = input != nullptr ? input->data() : nullptr;
            const int ntids = input != nullptr ? static_cast<int>(input->size()) : 0;
            const char* sql = step.sql.c_str();
            const StepOutcome outcome = PgCall([&] {
                return RunStatement(step.plan, sql, tids, ntids, step.returns_count, step.reports_rows, snapshot);
            });
            written += outcome.written;
            TakeTids(gone, outcome.gone, outcome.gone_count);
            TakeTids(stale, outcome.stale, outcome.stale_count);
        }
    });
    return written;
}

uint64 ViewMaintainer::Refresh(bool with_data) {
    uint64 rows = 0;
    AsRole(owner_, [&] {
        for (const auto& sql : core::RefreshStatements(definition_, with_data)) rows = SpiExecute(sql);
    });
    return with_data ? rows : 0;
}

std::vector<std::string> AttributeNames(Oid relid) {
    // A List of palloc'd names inside the guard, copied after it.
    List* found = PgCall([&] {
        List* names = NIL;
        Relation rel = relation_open(relid, AccessShareLock);
        TupleDesc desc = RelationGetDescr(rel);
        for (int i = 0; i < desc->natts; ++i) {
            Form_pg_attribute att = TupleDescAttr(desc, i);
            if (!att->attisdropped) names = lappend(names, pstrdup(NameStr(att->attname)));
        }
        relation_close(rel, AccessShareLock);
        return names;
    });
    std::vector<std::string> names;
    ListCell* lc;
    foreach (lc, found) names.push_back(static_cast<const char*>(lfirst(lc)));
    list_free_deep(found);
    return names;
}

std::unique_ptr<ViewMaintainer> LoadMaintainer(const ImmvRecord& record, Oid changed_relation) {
    return std::make_unique<ViewMaintainer>(record, AnalysedImmv(record), changed_relation);
}

bool RelationMaintenance::Valid() const {
    return valid && std::all_of(views.begin(), views.end(), [](const auto& view) { return view->analysed().current; });
}

RelationMaintenance::RelationMaintenance() = default;
RelationMaintenance::~RelationMaintenance() = default;
RelationMaintenance::RelationMaintenance(RelationMaintenance&&) noexcept = default;
RelationMaintenance& RelationMaintenance::operator=(RelationMaintenance&&) noexcept = default;

bool LockOrderBefore(const ViewMaintainer& a, const ViewMaintainer& b) {
    if (a.depth() != b.depth()) return a.depth() < b.depth();
    const int rank_a = core::ContentionRank(a.definition()), rank_b = core::ContentionRank(b.definition());
    if (rank_a != rank_b) return rank_a < rank_b;
    return a.immv() < b.immv();
}

const RelationMaintenance& LoadedMaintenance(Oid relid) {
    if (!MaintenanceScope::Active()) Retired().clear();
    RelationMaintenance& entry = Cache()[relid];
    if (!entry.Valid()) WithMaintenanceSettings([&] { LoadRelationMaintenance(relid, entry); });
    return entry;
}

bool MaintenanceValid(Oid relid) {
    auto it = Cache().find(relid);
    return it != Cache().end() && it->second.Valid();
}

namespace {

// The immediate IMMVs of a relation's maintenance, in lock order.
std::vector<const ViewMaintainer*> ImmediateViews(const RelationMaintenance& maintenance) {
    std::vector<const ViewMaintainer*> active;
    for (const auto& view : maintenance.views)
        if (view->active()) active.push_back(view.get());
    return active;
}

}  // namespace

const RelationMaintenance& LockMaintenanceForLater(Oid relid) {
    while (true) {
        const RelationMaintenance& maintenance = LoadedMaintenance(relid);
        const std::vector<const ViewMaintainer*> active = ImmediateViews(maintenance);
        // The mode locks of the IMMVs the kept changes reach, and the
        // relations their maintenance will read, as a query of the writer's
        // would: a TRUNCATE of one of them then waits for this transaction
        // instead of making its commit wait.
        for (const ViewMaintainer* view : active) view->LockModesShared();
        LockAllOrWait(ReadLocks(active));
        // Taking the locks processed pending invalidations: a mode switch
        // we waited for is seen.
        if (maintenance.Valid()) return maintenance;
    }
}

const RelationMaintenance& LockMaintenanceForWriter(Oid relid, bool only_write) {
    while (true) {
        const RelationMaintenance& maintenance = LoadedMaintenance(relid);
        // The relations the IMMVs read first, then the IMMVs in lock order.
        const std::vector<const ViewMaintainer*> active = ImmediateViews(maintenance);
        std::vector<ImmvLock> locks = ReadLocks(active);
        for (const ViewMaintainer* view : active)
            for (const ImmvLock& lock : view->WriterLocks(only_write)) locks.push_back(lock);
        LockAllOrWait(locks);
        // Taking the locks processed pending invalidations: an IMMV may have
        // been dropped, renamed, refreshed or switched mode meanwhile.
        PgCall([] { AcceptInvalidationMessages(); });
        if (maintenance.Valid()) return maintenance;
    }
}

void RegisterMaintainerCache() {
    CacheRegisterRelcacheCallback(InvalidateCallback, (Datum)0);
    for (int cache_id : kAnalysisSyscaches) CacheRegisterSyscacheCallback(cache_id, InvalidateNamedCallback, (Datum)0);
}

}  // namespace ivmx::pg
