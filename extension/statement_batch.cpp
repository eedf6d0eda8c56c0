// Batching of the changes made by one outermost statement (see
// extension/statement_batch.hpp).
#include "statement_batch.hpp"

#include <algorithm>

#include "ivmx/core/sql_text.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"

extern "C" {
#include "access/tupconvert.h"
#include "executor/executor.h"
#include "utils/queryenvironment.h"
#include "utils/tuplestore.h"
}

namespace ivmx::pg {

namespace {

struct SavedChange {
    Oid relid;
    Tuplestorestate* inserted;  // in TopTransactionContext
    Tuplestorestate* deleted;
    int saved_level;    // the subtransaction nest level that made the change
    int applied_level;  // 0: pending; else the level whose maintenance applied it
    bool truncated = false;
};

// Statements in flight at one subtransaction level.
struct LevelState {
    int nest_level;
    int in_flight;
};

// What the current transaction saved (see statement_batch.hpp).
struct TransactionState {
    std::vector<LevelState> levels;
    std::vector<SavedChange> changes;
    size_t pending = 0;      // changes with applied_level 0
    std::vector<Oid> stale;  // sorted
};

size_t CountPending(const std::vector<SavedChange>& changes) {
    return size_t(
        std::count_if(changes.begin(), changes.end(), [](const SavedChange& c) { return c.applied_level == 0; }));
}

TransactionState& State() {
    static TransactionState state;
    return state;
}

int TotalInFlight() {
    int total = 0;
    for (const auto& level : State().levels) total += level.in_flight;
    return total;
}

LevelState& CurrentLevel() {
    const int nest_level = GetCurrentTransactionNestLevel();
    auto& levels = State().levels;
    if (levels.empty() || levels.back().nest_level < nest_level) levels.push_back({nest_level, 0});
    return levels.back();
}

// A copy of source's rows (in the columns of `from`) in the columns of `to`
// (a base relation's, when the rows were captured on a member of its
// hierarchy: extension/hierarchy.hpp), in TopTransactionContext.
Tuplestorestate* CopyTuplestore(Tuplestorestate* source, TupleDesc from, TupleDesc to) {
    if (source == nullptr) return nullptr;
    MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
    Tuplestorestate* copy = tuplestore_begin_heap(false, false, work_mem);
    TupleConversionMap* map = convert_tuples_by_name(from, to);
    TupleTableSlot* slot = MakeSingleTupleTableSlot(from, &TTSOpsMinimalTuple);
    TupleTableSlot* converted = map != nullptr ? MakeSingleTupleTableSlot(to, &TTSOpsVirtual) : nullptr;
    const int pointer = tuplestore_alloc_read_pointer(source, EXEC_FLAG_REWIND);
    tuplestore_select_read_pointer(source, pointer);
    tuplestore_rescan(source);
    while (tuplestore_gettupleslot(source, true, false, slot))
        tuplestore_puttupleslot(copy, map != nullptr ? execute_attr_map_slot(map->attrMap, slot, converted) : slot);
    tuplestore_select_read_pointer(source, 0);
    ExecDropSingleTupleTableSlot(slot);
    if (converted != nullptr) ExecDropSingleTupleTableSlot(converted);
    if (map != nullptr) free_conversion_map(map);
    MemoryContextSwitchTo(old);
    return copy;
}

// A subtransaction at nest_level ended: its changes and what it applied
// pass to its parent (commit), or vanish and are pending again (abort).
// Called from the subtransaction callback: it allocates nothing (a level
// popped here leaves room for the one pushed back) and throws nothing.
void EndSubTransaction(int nest_level, bool commit) {
    auto& state = State();
    auto& levels = state.levels;
    if (!commit) {
        while (!levels.empty() && levels.back().nest_level >= nest_level) levels.pop_back();
        auto& changes = state.changes;
        changes.erase(std::remove_if(changes.begin(), changes.end(),
                                     [&](const SavedChange& c) { return c.saved_level >= nest_level; }),
                      changes.end());
        for (auto& change : changes)
            if (change.applied_level >= nest_level) change.applied_level = 0;
        state.pending = CountPending(changes);
        return;
    }
    for (auto& change : state.changes) {
        if (change.saved_level == nest_level) change.saved_level = nest_level - 1;
        if (change.applied_level == nest_level) change.applied_level = nest_level - 1;
    }
    if (levels.empty() || levels.back().nest_level < nest_level) return;
    const int in_flight = levels.back().in_flight;
    levels.pop_back();
    if (!levels.empty() && levels.back().nest_level == nest_level - 1)
        levels.back().in_flight += in_flight;
    else
        levels.push_back({nest_level - 1, in_flight});  // into the slot just freed
}

// PostgreSQL calls the callbacks below directly, also during an abort and
// after a commit, where an ERROR is not allowed: CallbackGuard. Neither
// calls a PostgreSQL function that can raise one.

void SubTransactionCallback(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB) return;
    const int nest_level = GetCurrentTransactionNestLevel();
    CallbackGuard("pg_ivmx subtransaction callback",
                  [&] { EndSubTransaction(nest_level, event == SUBXACT_EVENT_COMMIT_SUB); });
}

void TransactionCallback(XactEvent event, void*) {
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
        event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE) {
        CallbackGuard("pg_ivmx transaction callback", [] {
            // The tuplestores went with TopTransactionContext.
            State() = TransactionState();
            MaintenanceScope::Reset();
        });
    }
}

}  // namespace

void StatementStarted() {
    CurrentLevel().in_flight++;
}

bool StatementFinished() {
    LevelState& level = CurrentLevel();
    if (level.in_flight > 0) level.in_flight--;
    return TotalInFlight() == 0;
}

bool StatementsInFlight() {
    return TotalInFlight() > 0;
}

void SaveChange(Oid relid, Tuplestorestate* inserted, Tuplestorestate* deleted, TupleDesc rows_desc) {
    const int nest_level = PgCall([] { return GetCurrentTransactionNestLevel(); });
    SavedChange change = PgCall([&] {
        Relation rel = table_open(relid, NoLock);
        TupleDesc desc = RelationGetDescr(rel);
        SavedChange copy{relid, CopyTuplestore(inserted, rows_desc, desc), CopyTuplestore(deleted, rows_desc, desc),
                         nest_level, 0};
        table_close(rel, NoLock);
        return copy;
    });
    State().changes.push_back(change);
    State().pending++;
}

void SaveTruncation(Oid relid) {
    const int nest_level = PgCall([] { return GetCurrentTransactionNestLevel(); });
    State().changes.push_back({relid, nullptr, nullptr, nest_level, 0, true});
    State().pending++;
}

bool HasSavedChanges() {
    return State().pending > 0;
}

namespace {
// The pending changes (with or without the truncations), now applied.
std::vector<PendingChange> TakePending(bool with_truncations);
}  // namespace

std::vector<PendingChange> TakePendingChanges() {
    return TakePending(true);
}

namespace {

std::vector<PendingChange> TakePending(bool with_truncations) {
    const int nest_level = PgCall([] { return GetCurrentTransactionNestLevel(); });
    std::vector<PendingChange> out;
    auto& changes = State().changes;
    for (auto& change : changes) {
        if (change.applied_level != 0 || (change.truncated && !with_truncations)) continue;
        out.push_back({change.relid, change.inserted, change.deleted, change.truncated});
        change.applied_level = nest_level;
    }
    State().pending = CountPending(changes);
    // Applied by the top level: nothing can make them pending again.
    if (nest_level <= 1)
        changes.erase(
            std::remove_if(changes.begin(), changes.end(), [](const SavedChange& c) { return c.applied_level != 0; }),
            changes.end());
    return out;
}

}  // namespace

std::string RegisterChangedRows(Tuplestorestate* rows, Oid relid, const std::string& name) {
    if (rows == nullptr) return {};
    PgCall([&] {
        EphemeralNamedRelation enr = static_cast<EphemeralNamedRelation>(palloc0(sizeof(EphemeralNamedRelationData)));
        enr->md.name = pstrdup(name.c_str());
        enr->md.reliddesc = relid;
        enr->md.tupdesc = nullptr;
        enr->md.enrtype = ENR_NAMED_TUPLESTORE;
        enr->md.enrtuples = tuplestore_tuple_count(rows);
        enr->reldata = rows;
        if (SPI_register_relation(enr) < 0) elog(ERROR, "could not register saved changes");
    });
    return core::QuoteIdent(name);
}

std::vector<BatchedChange> RegisterChanges(const std::vector<PendingChange>& changes) {
    std::vector<BatchedChange> out;
    // Names stay unique across calls: one batch may register several rounds.
    static uint64 n = 0;
    for (const auto& change : changes) {
        if (change.truncated) continue;
        const std::string prefix = "__ivmx_batch_" + std::to_string(++n);
        out.push_back({change.relid, RegisterChangedRows(change.inserted, change.relid, prefix + "_new"),
                       RegisterChangedRows(change.deleted, change.relid, prefix + "_old")});
    }
    return out;
}

std::vector<BatchedChange> TakeSavedChanges() {
    return RegisterChanges(TakePending(false));
}

void NoteStaleImmv(Oid immv) {
    auto& stale = State().stale;
    auto it = std::lower_bound(stale.begin(), stale.end(), immv);
    if (it == stale.end() || *it != immv) stale.insert(it, immv);
}

bool IsStaleImmv(Oid immv) {
    const auto& stale = State().stale;
    return !stale.empty() && std::binary_search(stale.begin(), stale.end(), immv);
}

void RegisterStatementBatchCallbacks() {
    RegisterXactCallback(TransactionCallback, nullptr);
    RegisterSubXactCallback(SubTransactionCallback, nullptr);
}

}  // namespace ivmx::pg
