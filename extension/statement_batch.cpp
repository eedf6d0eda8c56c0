// Batching of the changes made by one outermost statement (see
// extension/statement_batch.hpp).
#include "statement_batch.hpp"

#include "ivmx/core/sql_text.hpp"
#include "ivmx/pg/guards.hpp"

extern "C" {
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
};

// Statements in flight and saved changes of one subtransaction level.
struct LevelState {
    int nest_level;
    int in_flight;
    std::vector<SavedChange> changes;
};

std::vector<LevelState>& Levels() {
    static std::vector<LevelState> levels;
    return levels;
}

int TotalInFlight() {
    int total = 0;
    for (const auto& level : Levels()) total += level.in_flight;
    return total;
}

LevelState& CurrentLevel() {
    const int nest_level = GetCurrentTransactionNestLevel();
    auto& levels = Levels();
    if (levels.empty() || levels.back().nest_level < nest_level)
        levels.push_back({nest_level, 0, {}});
    return levels.back();
}

Tuplestorestate* CopyTuplestore(Tuplestorestate* source, TupleDesc desc) {
    if (source == nullptr) return nullptr;
    MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
    Tuplestorestate* copy = tuplestore_begin_heap(false, false, work_mem);
    TupleTableSlot* slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
    const int pointer = tuplestore_alloc_read_pointer(source, EXEC_FLAG_REWIND);
    tuplestore_select_read_pointer(source, pointer);
    tuplestore_rescan(source);
    while (tuplestore_gettupleslot(source, true, false, slot)) tuplestore_puttupleslot(copy, slot);
    tuplestore_select_read_pointer(source, 0);
    ExecDropSingleTupleTableSlot(slot);
    MemoryContextSwitchTo(old);
    return copy;
}

std::string RegisterTuplestore(Tuplestorestate* store, Oid relid, const std::string& name) {
    if (store == nullptr) return {};
    EphemeralNamedRelation enr = static_cast<EphemeralNamedRelation>(palloc0(sizeof(EphemeralNamedRelationData)));
    enr->md.name = pstrdup(name.c_str());
    enr->md.reliddesc = relid;
    enr->md.tupdesc = nullptr;
    enr->md.enrtype = ENR_NAMED_TUPLESTORE;
    enr->md.enrtuples = tuplestore_tuple_count(store);
    enr->reldata = store;
    if (SPI_register_relation(enr) < 0) elog(ERROR, "could not register saved changes");
    return core::QuoteIdent(name);
}

void SubTransactionCallback(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    auto& levels = Levels();
    const int nest_level = GetCurrentTransactionNestLevel();
    if (event == SUBXACT_EVENT_ABORT_SUB) {
        while (!levels.empty() && levels.back().nest_level >= nest_level) levels.pop_back();
    } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
        // The committed subtransaction's state now belongs to its parent.
        if (levels.empty() || levels.back().nest_level < nest_level) return;
        LevelState child = std::move(levels.back());
        levels.pop_back();
        if (levels.empty() || levels.back().nest_level < nest_level - 1)
            levels.push_back({nest_level - 1, 0, {}});
        levels.back().in_flight += child.in_flight;
        for (auto& change : child.changes) levels.back().changes.push_back(change);
    }
}

void TransactionCallback(XactEvent event, void*) {
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
        event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
        event == XACT_EVENT_PREPARE)
        Levels().clear();
}

}  // namespace

void StatementStarted() { CurrentLevel().in_flight++; }

bool StatementFinished() {
    LevelState& level = CurrentLevel();
    if (level.in_flight > 0) level.in_flight--;
    return TotalInFlight() == 0;
}

bool StatementsInFlight() { return TotalInFlight() > 0; }

void SaveChange(Oid relid, Tuplestorestate* inserted, Tuplestorestate* deleted) {
    PgCall([&] {
        Relation rel = table_open(relid, NoLock);
        TupleDesc desc = RelationGetDescr(rel);
        SavedChange change{relid, CopyTuplestore(inserted, desc), CopyTuplestore(deleted, desc)};
        table_close(rel, NoLock);
        CurrentLevel().changes.push_back(change);
    });
}

bool HasSavedChanges() {
    for (const auto& level : Levels())
        if (!level.changes.empty()) return true;
    return false;
}

std::vector<BatchedChange> TakeSavedChanges() {
    std::vector<BatchedChange> out;
    // Names stay unique across calls: one batch may register several rounds.
    static uint64 n = 0;
    for (auto& level : Levels()) {
        for (const auto& change : level.changes) {
            ++n;
            const std::string prefix = "__ivmx_batch_" + std::to_string(n);
            out.push_back(PgCall([&] {
                return BatchedChange{change.relid,
                                     RegisterTuplestore(change.inserted, change.relid, prefix + "_new"),
                                     RegisterTuplestore(change.deleted, change.relid, prefix + "_old")};
            }));
        }
        level.changes.clear();
    }
    return out;
}

void RegisterStatementBatchCallbacks() {
    RegisterXactCallback(TransactionCallback, nullptr);
    RegisterSubXactCallback(SubTransactionCallback, nullptr);
}

}  // namespace ivmx::pg
