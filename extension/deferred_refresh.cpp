// The refresh of deferred IMMVs from their delta logs (see
// deferred_refresh.hpp).
//
// A refresh locks the IMMV (ExclusiveLock: refreshes of one IMMV take turns,
// readers are not blocked), takes one snapshot S, and in S reads the pending
// log rows (those of transactions not in the IMMV's watermark W) and the
// base relations. The delta of the consumed rows is applied with the same
// engine as immediate maintenance (every occurrence not changed is read in
// its S state), and W advances to the consumed transactions in the same
// transaction: a crash loses nothing and applies nothing twice. Then the
// log rows every consumer has applied are deleted.
//
// RefreshDeferred reads as its steps: lock (LockForRefresh), read the
// pending batch (ReadPendingBatch), apply it (ApplyPending), advance the
// watermark (AdvanceWatermark), clean up (CollectGarbage).
#include "deferred_refresh.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "access.hpp"
#include "catalog.hpp"
#include "delta_log.hpp"
#include "ivmx/core/deferred_sql.hpp"
#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/dependency_graph.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/watermark.hpp"
#include "ivmx/pg/guards.hpp"
#include "maintainer.hpp"
#include "pg_util.hpp"
#include "settings.hpp"
#include "transaction_changes.hpp"

namespace ivmx::pg {

namespace {

// Runs sql once, reading in snapshot; `result` reads SPI's result before the
// plan is freed. Raises a PostgreSQL error unless the statement ends with
// `expected` (an SPI_OK_* code). `args`: the values of the statement's
// parameters. `result` runs inside the guard: it returns PostgreSQL data
// only (palloc'd memory, Datums, numbers), made into C++ objects by the
// caller once the guard has returned.
template <typename F>
auto RunIn(const std::string& sql, Snapshot snapshot, int expected, F&& result, const SqlArgs& args = SqlArgs()) {
    static_assert(std::is_trivially_destructible_v<decltype(result())>, "a guarded region holds PostgreSQL data only");
    return PgCall([&] {
        const SqlArgs::Bound bound = args.Bind();
        SPIPlanPtr plan = SPI_prepare(sql.c_str(), bound.count, bound.types);
        if (plan == nullptr) elog(ERROR, "could not plan refresh query: %s", sql.c_str());
        const int rc = SPI_execute_snapshot(plan, bound.values, bound.nulls, snapshot, InvalidSnapshot,
                                            expected == SPI_OK_SELECT, false, 0);
        if (rc != expected) elog(ERROR, "refresh query failed: %s", sql.c_str());
        auto out = result();
        SPI_freeplan(plan);
        return out;
    });
}

// Runs a read-only query in `snapshot`; returns the rows as text (NULL as
// an empty string).
std::vector<std::vector<std::string>> QueryIn(const std::string& sql, Snapshot snapshot,
                                              const SqlArgs& args = SqlArgs()) {
    // The values as palloc'd C strings (nullptr for NULL), row by row.
    struct TextRows {
        char** values;
        uint64 rows;
        int columns;
    };
    const TextRows found = RunIn(
        sql, snapshot, SPI_OK_SELECT,
        [] {
            TextRows out{nullptr, SPI_processed, SPI_tuptable->tupdesc->natts};
            out.values = static_cast<char**>(palloc(sizeof(char*) * Max(out.rows * out.columns, uint64(1))));
            for (uint64 r = 0; r < out.rows; ++r)
                for (int c = 0; c < out.columns; ++c)
                    out.values[r * out.columns + c] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1);
            return out;
        },
        args);
    std::vector<std::vector<std::string>> rows;
    for (uint64 r = 0; r < found.rows; ++r) {
        std::vector<std::string> row;
        for (int c = 0; c < found.columns; ++c) {
            const char* value = found.values[r * found.columns + c];
            row.emplace_back(value != nullptr ? value : "");
        }
        rows.push_back(std::move(row));
    }
    for (uint64 i = 0; i < found.rows * found.columns; ++i)
        if (found.values[i] != nullptr) pfree(found.values[i]);
    pfree(found.values);
    return rows;
}

struct LogInfo {
    Oid base;
    Oid relid;
    std::string log;  // qualified, quoted
    std::vector<LoggedColumn> columns;
};

std::vector<LogInfo> LogsOf(const core::ViewDefinition& view) {
    std::vector<LogInfo> logs;
    for (const auto& rel : view.relations) {
        if (std::any_of(logs.begin(), logs.end(), [&](const LogInfo& l) { return l.base == rel.relation_id; }))
            continue;
        auto log = DeltaLogOf(rel.relation_id);
        if (!log)
            throw core::Error(core::sqlstate::kInternalError, "delta log of \"" + rel.name.name + "\" is missing");
        logs.push_back({rel.relation_id, *log, core::QuoteQualified(RelationName(*log)), DescribeLoggedColumns(*log)});
    }
    return logs;
}

// What a delta reads of `log` for an occurrence reading the columns `read`
// (in that order): the columns quoted, and whether equal values of all of
// them are indistinguishable (equality is identity).
core::LogColumnsRead ColumnsRead(const LogInfo& log, const std::vector<std::string>& read) {
    core::LogColumnsRead columns;
    columns.source = log.log;
    for (const auto& name : read) {
        auto logged =
            std::find_if(log.columns.begin(), log.columns.end(), [&](const LoggedColumn& c) { return c.name == name; });
        if (logged == log.columns.end())
            throw core::Error(core::sqlstate::kInternalError,
                              "delta log " + log.log + " does not record column \"" + name + "\"");
        columns.columns.push_back(core::QuoteIdent(name));
        columns.by_value &= logged->equal_by_value;
    }
    columns.by_value &= !columns.columns.empty();
    return columns;
}

// The log rows this refresh consumes: those pending, up to the batch's end
// (its values bound in args, with those of `pending`).
std::string Consumed(const std::string& pending, const std::optional<core::XidSnapshot>& batch_end, SqlArgs& args) {
    return core::ConsumedCondition(
        pending, batch_end ? std::optional<std::string>(args.AddPgSnapshot(batch_end->ToText())) : std::nullopt);
}

// A batch of one log, read for the view's owner: the consumed rows, with
// the columns the view reads of the relation (and those its row security
// policies read), in a tuplestore registered with SPI as `name`. The log
// itself belongs to pg_ivmx and holds other views' columns and rows: it is
// read as its owner, and the view's statements, run as the IMMV's owner,
// read only the batch (through the owner's row security filter).
struct Batch {
    std::string name;
    std::string rows;                  // FROM-item of its rows, through the owner's row security filter
    LogInfo source;                    // the batch in place of the log: `log` is `rows` with an alias
    Tuplestorestate* store = nullptr;  // freed (with its temporary file) by UnregisterBatches
};

constexpr long kBatchFetchRows = 10000;

// Fills a tuplestore from the query (its parameters' values in args),
// reading in snapshot, and registers it.
Tuplestorestate* RegisterBatchRows(const std::string& sql, const SqlArgs& args, Snapshot snapshot,
                                   const std::string& name) {
    return PgCall([&] {
        const SqlArgs::Bound bound = args.Bind();
        SPIPlanPtr plan = SPI_prepare(sql.c_str(), bound.count, bound.types);
        if (plan == nullptr) elog(ERROR, "could not plan refresh query: %s", sql.c_str());
        PushActiveSnapshot(snapshot);
        Portal portal = SPI_cursor_open(nullptr, plan, bound.values, bound.nulls, true);
        PopActiveSnapshot();
        Tuplestorestate* store = tuplestore_begin_heap(false, false, work_mem);
        TupleDesc desc = nullptr;
        while (true) {
            SPI_cursor_fetch(portal, true, kBatchFetchRows);
            if (desc == nullptr) desc = CreateTupleDescCopy(SPI_tuptable->tupdesc);
            for (uint64 i = 0; i < SPI_processed; ++i) tuplestore_puttuple(store, SPI_tuptable->vals[i]);
            const bool done = SPI_processed < uint64(kBatchFetchRows);
            SPI_freetuptable(SPI_tuptable);
            if (done) break;
        }
        SPI_cursor_close(portal);
        SPI_freeplan(plan);
        auto* enr = static_cast<EphemeralNamedRelation>(palloc0(sizeof(EphemeralNamedRelationData)));
        enr->md.name = pstrdup(name.c_str());
        enr->md.reliddesc = InvalidOid;
        enr->md.tupdesc = desc;
        enr->md.enrtype = ENR_NAMED_TUPLESTORE;
        enr->md.enrtuples = tuplestore_tuple_count(store);
        enr->reldata = store;
        if (SPI_register_relation(enr) != SPI_OK_REL_REGISTER) elog(ERROR, "could not register refresh batch");
        return store;
    });
}

// The batch of `log` for the occurrences of its relation in the view (the
// rows `consumed` selects, its values bound in args); nullopt when the log
// lacks a column the relation's row security policies read (then only a
// recompute gives the owner's rows).
std::optional<Batch> ReadBatch(const LogInfo& log, const core::ViewDefinition& view, const std::string& consumed,
                               const SqlArgs& args, Snapshot snapshot, const char* kind = "batch") {
    std::vector<std::string> columns;
    auto add = [&](const std::string& c) {
        if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
    };
    for (size_t i = 0; i < view.relations.size(); ++i) {
        if (view.relations[i].relation_id != log.base) continue;
        for (const auto& c : core::ReadsWholeRows(view, i) ? AttributeNames(log.base) : view.relations[i].columns_read)
            add(c);
    }
    const std::optional<RowFilter> filter = RelationRowFilter(log.base);
    if (filter)
        for (const auto& c : filter->columns) add(c);
    for (const auto& c : columns)
        if (std::none_of(log.columns.begin(), log.columns.end(), [&](const LoggedColumn& l) { return l.name == c; }))
            return std::nullopt;
    Batch batch;
    batch.name = "__ivm_" + std::string(kind) + "_" + std::to_string(log.relid);
    std::vector<std::string> quoted;
    for (const auto& c : columns) quoted.push_back(core::QuoteIdent(c));
    const std::string sql = core::BatchRowsQuery(log.log, quoted, consumed);
    batch.store = AsRole(CatalogOwner(), [&] { return RegisterBatchRows(sql, args, snapshot, batch.name); });
    batch.source = log;
    batch.rows = filter ? FilteredSource(batch.name, log.base, *filter) : batch.name;
    batch.source.log = filter ? batch.rows + " AS __ivm_b" : batch.name;
    return batch;
}

// The columns the view reads of its occurrence i (all for whole rows).
std::vector<std::string> RelationColumns(const core::ViewDefinition& view, size_t i) {
    return core::ReadsWholeRows(view, i) || view.relations[i].columns_read.empty()
               ? AttributeNames(view.relations[i].relation_id)
               : view.relations[i].columns_read;
}

// Whether every one of the columns of relid has an equality operator.
bool HaveEquality(Oid relid, const std::vector<std::string>& columns) {
    for (const auto& c : columns)
        if (!PgCall([&] {
                const AttrNumber attnum = get_attnum(relid, c.c_str());
                if (attnum == InvalidAttrNumber) return false;
                TypeCacheEntry* type = lookup_type_cache(get_atttype(relid, attnum), TYPECACHE_EQ_OPR);
                return OidIsValid(type->eq_opr);
            }))
            return false;
    return true;
}

void UnregisterBatches(const std::vector<Batch>& batches) {
    for (const auto& batch : batches)
        PgCall([&] {
            SPI_unregister_relation(batch.name.c_str());
            tuplestore_end(batch.store);
        });
}

// Estimated rows of the base relations: pg_class.reltuples, or, for a
// relation never vacuumed or analyzed, its size in pages times a typical
// row count per page.
double BaseRows(const std::vector<LogInfo>& logs) {
    constexpr double kRowsPerPage = 50;
    return PgCall([&] {
        double rows = 0;
        for (const auto& log : logs) {
            HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(log.base));
            if (!HeapTupleIsValid(tup)) continue;
            const double tuples = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup))->reltuples;
            ReleaseSysCache(tup);
            if (tuples >= 0) {
                rows += tuples;
                continue;
            }
            Relation rel = relation_open(log.base, AccessShareLock);
            rows += std::max<double>(RelationGetNumberOfBlocks(rel), 1) * kRowsPerPage;
            relation_close(rel, AccessShareLock);
        }
        return std::max(rows, 1.0);
    });
}

uint64 OwnTransaction() {
    return PgCall([] {
        FullTransactionId fxid = GetTopFullTransactionIdIfAny();
        return FullTransactionIdIsValid(fxid) ? U64FromFullTransactionId(fxid) : uint64(0);
    });
}

// What is pending in the logs of one view: in all, per log (the oldest
// transaction), and, when asked for, per transaction (for ivmx.max_batch_rows).
struct PendingSummary {
    int64 rows = 0;
    std::vector<uint64_t> first_xid;  // per log; UINT64_MAX: no rows
    int64 own_max_seq = 0;
};

// One aggregate per log: no sort, and one row to read back. `pending` has
// its values bound in pending_args.
PendingSummary SummarizePending(const std::vector<LogInfo>& logs, const std::string& pending,
                                const SqlArgs& pending_args, uint64 own, Snapshot snapshot) {
    PendingSummary summary;
    SqlArgs args = pending_args;
    const std::string own_xid = args.AddXid8(own);
    for (const auto& log : logs) {
        const auto row = QueryIn(core::PendingSummaryQuery(log.log, pending, own_xid), snapshot, args)[0];
        summary.rows += std::stoll(row[0]);
        summary.first_xid.push_back(row[1].empty() ? UINT64_MAX : std::stoull(row[1]));
        if (!row[2].empty()) summary.own_max_seq = std::max<int64>(summary.own_max_seq, std::stoll(row[2]));
    }
    return summary;
}

// Where to end the batch of a backlog of `total` pending rows of one log
// (the watermark `applied`): at the newest remembered snapshot taken after
// the watermark whose batch stays within ivmx.max_batch_rows, or else the
// oldest that makes progress (core::SelectBatchEnd); with the rows that
// batch consumes. nullopt: consume everything. `pending` has its values
// bound in pending_args.
std::optional<std::pair<core::XidSnapshot, int64>> BatchEndAt(const LogInfo& log, const std::string& pending,
                                                              const SqlArgs& pending_args, Snapshot snapshot,
                                                              const core::XidSnapshot& applied, int64 total) {
    std::vector<core::XidSnapshot> candidates;
    for (const auto& text : SnapshotMarks()) {
        const auto mark = core::XidSnapshot::Parse(text);
        if (mark && core::Includes(*mark, applied) && !core::Includes(applied, *mark)) candidates.push_back(*mark);
    }
    if (candidates.empty()) return std::nullopt;
    std::vector<std::string> marks;
    SqlArgs args = pending_args;
    for (const auto& mark : candidates) marks.push_back(args.AddPgSnapshot(mark.ToText()));
    const auto row = AsRole(
        CatalogOwner(), [&] { return QueryIn(core::BatchEndCountQuery(log.log, pending, marks), snapshot, args)[0]; });
    std::vector<int64_t> visible;
    for (const auto& c : row) visible.push_back(std::stoll(c));
    const std::optional<size_t> end = core::SelectBatchEnd(visible, total, MaxBatchRows());
    if (!end) return std::nullopt;
    return std::make_pair(candidates[*end], visible[*end]);
}

// SQL condition: a row of the log that every deferred consumer of its
// relation has applied, as `snapshot` shows the consumers. The consumers'
// watermarks are bound in args, one parameter each, so that a scan
// evaluates no subquery.
std::string AppliedByAll(const LogInfo& log, Snapshot snapshot, SqlArgs& args) {
    std::vector<std::string> pending;
    for (const AppliedChanges& consumer : DeferredConsumersOf(log.base, snapshot))
        pending.push_back(PendingCondition(consumer, args));
    return core::AppliedByAll(pending);
}

// Truncates the log of a deferred IMMV that other deferred IMMVs read (it is
// written only by the IMMV's refreshes, usually in the same scheduler round)
// when no other session holds it and all its rows are applied: no row to
// delete, nothing left to vacuum. (Never the log of a table: its writers
// would queue behind the check.) Holds ShareUpdateExclusiveLock on the log
// when it returns false.
bool TruncateIfAllApplied(const LogInfo& log) {
    const std::optional<ImmvRecord> upstream = LoadImmv(log.base);
    if (!upstream || upstream->mode != MaintenanceMode::Deferred ||
        !PgCall([&] { return ConditionalLockRelationOid(log.relid, AccessExclusiveLock); }))
        return false;
    // Nobody else holds the log: the latest snapshot sees all its rows.
    Snapshot latest = PgCall([] { return RegisterSnapshot(GetLatestSnapshot()); });
    SqlArgs args;
    const std::string applied = AppliedByAll(log, latest, args);
    const bool all_applied = QueryIn(core::AllRowsAppliedQuery(log.log, applied), latest, args)[0][0] == "t";
    PgCall([&] { UnregisterSnapshot(latest); });
    if (all_applied) {
        SpiExecute("TRUNCATE " + log.log);
        return true;
    }
    // The IMMV's refreshes must not wait behind a deletion.
    PgCall([&] {
        LockRelationOid(log.relid, ShareUpdateExclusiveLock);
        UnlockRelationOid(log.relid, AccessExclusiveLock);
    });
    return false;
}

// Deletes log rows that every deferred consumer has applied. One refresh
// at a time collects a log (holding ShareUpdateExclusiveLock on it, which
// writers do not conflict with, until its transaction ends); another one
// skips it rather than wait: two refreshes of views on one table (a flush
// and the scheduler) would otherwise wait on each other's deletions while
// holding their IMMVs' locks. The rows are found in the latest snapshot, so
// that a REPEATABLE READ flush does not trip over rows another refresh
// deleted since its snapshot. With `truncate` (a transaction that ends right
// after), logs of deferred IMMVs may be truncated instead
// (TruncateIfAllApplied). Returns the rows deleted per log.
std::vector<std::pair<Oid, int64>> CollectGarbage(const std::vector<LogInfo>& logs, bool truncate) {
    std::vector<std::pair<Oid, int64>> deleted;
    AsRole(CatalogOwner(), [&] {
        for (const auto& log : logs) {
            if (truncate && TruncateIfAllApplied(log)) {
                deleted.emplace_back(log.relid, 0);
                continue;
            }
            if (!PgCall([&] { return ConditionalLockRelationOid(log.relid, ShareUpdateExclusiveLock); })) continue;
            Snapshot latest = PgCall([] { return RegisterSnapshot(GetLatestSnapshot()); });
            SqlArgs args;
            const std::string applied = AppliedByAll(log, latest, args);
            const uint64 rows = RunIn(
                core::DeleteAppliedRows(log.log, applied), latest, SPI_OK_DELETE, [] { return SPI_processed; }, args);
            PgCall([&] { UnregisterSnapshot(latest); });
            deleted.emplace_back(log.relid, static_cast<int64>(rows));
        }
    });
    return deleted;
}

// --- the steps of a refresh ---

// Locks the relations the IMMV reads, then the IMMV (ExclusiveLock), in the
// order a TRUNCATE of a base table (which recomputes the IMMV) takes them:
// otherwise the two could deadlock. A scheduled refresh does not wait
// behind a session holding the IMMV (say, a transaction that flushed it and
// is still open): false, and it tries again next round, refreshing the
// other views meanwhile.
bool LockForRefresh(Oid immv, bool scheduled) {
    for (Oid base : ImmvInputs(immv)) PgCall([&] { LockRelationOid(base, AccessShareLock); });
    if (scheduled) return PgCall([&] { return ConditionalLockRelationOid(immv, ExclusiveLock); });
    PgCall([&] { LockRelationOid(immv, ExclusiveLock); });
    return true;
}

// What a refresh reads before it writes: the logs of the IMMV's relations,
// the snapshot S in which it reads them and the base relations, and what is
// pending in them (the rows of transactions not in the watermark).
struct PendingBatch {
    std::vector<LogInfo> logs;
    Snapshot snapshot = nullptr;  // registered; S
    uint64 own = 0;               // this transaction, when it has an id
    core::XidSnapshot seen;       // S, as pg_current_snapshot() shows it
    bool known = false;           // the IMMV has a watermark (else: recompute)
    SqlArgs args;                 // the values of `pending` and of later conditions
    std::string pending;          // condition on log rows: not yet applied
    PendingSummary summary;
    // A batch ending at an earlier snapshot mark (a split backlog).
    std::optional<core::XidSnapshot> batch_end;
};

// Whether a scheduled refresh may split this backlog into batches: a
// single-relation view with more than ivmx.max_batch_rows pending, no part
// of a transaction applied by its own flush, and, when a batch ending
// before the latest change must recompute groups (lost min/max, non-finite
// sums) from the relation as of its end (RelationBefore), equality on the
// columns read. Not a view whose relation is joined by a join tree to
// functions in FROM, nor a top-K: its maintenance reads the relation's state
// (whether a row had a match; the top rows), which must then be the state at
// the batch's end.
bool MaySplit(const ImmvRecord& record, const ViewMaintainer& maintainer, const PendingBatch& batch, bool scheduled) {
    const core::ViewDefinition& view = maintainer.definition();
    return scheduled && batch.known && batch.own == 0 && record.applied.partial_xid == 0 &&
           view.relations.size() == 1 && !core::ReadsRelationState(view) && batch.summary.rows > MaxBatchRows() &&
           (!core::NeedsRecompute(view) || HaveEquality(batch.logs[0].base, RelationColumns(view, 0)));
}

// Reads, in one snapshot taken now (after the locks), what is pending in the
// logs of the IMMV, and where its batch ends: a scheduled refresh of a
// single-relation view takes at most about ivmx.max_batch_rows, ending its
// batch at a snapshot the scheduler took earlier (BatchEndAt); other
// refreshes take everything pending. Sets the rows the batch consumes.
PendingBatch ReadPendingBatch(Oid immv, const ImmvRecord& record, const ViewMaintainer& maintainer, bool scheduled,
                              RefreshResult& result) {
    PendingBatch batch;
    batch.logs = LogsOf(maintainer.definition());
    // Like a refresh of a materialized view: the owner must (still) be
    // allowed to read what the view reads.
    if (const auto unreadable = UnreadableRelation(maintainer.definition(), RelationOwner(immv)))
        RaiseOwnerCannotRead(immv, *unreadable);
    batch.snapshot = PgCall([] { return RegisterSnapshot(GetLatestSnapshot()); });
    batch.own = OwnTransaction();
    batch.seen = *core::XidSnapshot::Parse(QueryIn("SELECT pg_current_snapshot()::text", batch.snapshot)[0][0]);
    batch.known = core::XidSnapshot::Parse(record.applied.watermark).has_value();
    batch.pending = batch.known ? PendingCondition(record.applied, batch.args) : "true";
    // The logs belong to pg_ivmx: read them as their owner, whoever flushes.
    batch.summary = AsRole(CatalogOwner(), [&] {
        return SummarizePending(batch.logs, batch.pending, batch.args, batch.own, batch.snapshot);
    });
    result.rows_consumed = batch.summary.rows;
    result.more_pending = false;
    if (MaySplit(record, maintainer, batch, scheduled)) {
        if (auto end = BatchEndAt(batch.logs[0], batch.pending, batch.args, batch.snapshot,
                                  *core::XidSnapshot::Parse(record.applied.watermark), batch.summary.rows)) {
            batch.batch_end = end->first;
            result.rows_consumed = end->second;
            result.more_pending = true;
        }
    }
    return batch;
}

// Whether the refresh recomputes the IMMV rather than apply a delta: when
// asked to, without a watermark, when the batch is large against the base
// relations (ivmx.full_refresh_ratio; never for an IMMV other IMMVs read: a
// recompute rewrites every row, which they would receive as a change of
// every row), or when the batch changes more occurrences than a delta is
// built from (it grows exponentially with them).
bool RecomputesBatch(RefreshKind kind, const ViewMaintainer& maintainer, const PendingBatch& batch,
                     int64 rows_consumed) {
    const double ratio = maintainer.read_by_immvs() ? 0 : FullRefreshRatio();
    const double base_rows = ratio > 0 ? BaseRows(batch.logs) : -1;  // > 0 when ratio > 0
    if (kind == RefreshKind::Full || !batch.known || (base_rows > 0 && rows_consumed > ratio * base_rows)) return true;
    size_t changed_occurrences = 0;
    for (const auto& rel : maintainer.definition().relations)
        for (size_t l = 0; l < batch.logs.size(); ++l)
            changed_occurrences += batch.logs[l].base == rel.relation_id && batch.summary.first_xid[l] != UINT64_MAX;
    return changed_occurrences > core::kMaxChangedOccurrences && !core::HasJoinTree(maintainer.definition());
}

// The batches a delta reads: the consumed rows of every log with rows in
// it, read for the owner, and, for recomputes of a split batch, the
// relation as of the batch's end (its current rows less the later changes,
// read like the batch) in base_as_of. False when a batch cannot be read for
// the owner (only a recompute gives the owner's rows).
struct DeltaInput {
    std::vector<Batch> batches;
    std::vector<Batch> later_batches;
    std::vector<std::string> base_as_of;
};
bool ReadDeltaInput(const ViewMaintainer& maintainer, PendingBatch& batch, DeltaInput& input) {
    const core::ViewDefinition& view = maintainer.definition();
    const std::string consumed = Consumed(batch.pending, batch.batch_end, batch.args);
    for (size_t l = 0; l < batch.logs.size(); ++l) {
        if (batch.summary.first_xid[l] == UINT64_MAX) continue;
        std::optional<Batch> read = ReadBatch(batch.logs[l], view, consumed, batch.args, batch.snapshot);
        if (!read) return false;
        input.batches.push_back(std::move(*read));
    }
    if (!batch.batch_end || !core::NeedsRecompute(view)) return true;
    const std::string later_rows =
        core::LaterCondition(batch.pending, batch.args.AddPgSnapshot(batch.batch_end->ToText()));
    std::optional<Batch> later = ReadBatch(batch.logs[0], view, later_rows, batch.args, batch.snapshot, "later");
    if (!later) return false;
    std::vector<std::string> quoted;
    for (const auto& c : RelationColumns(view, 0)) quoted.push_back(core::QuoteIdent(c));
    input.base_as_of.push_back(core::RelationBefore(core::QuoteQualified(view.relations[0].name), quoted, later->rows));
    input.later_batches.push_back(std::move(*later));
    return true;
}

// The changed occurrences of a batch, each with its log's batch.
using ChangedLogs = std::vector<std::pair<size_t, const LogInfo*>>;

// How the batches of `changed` occurrences are read: netted, each log's
// batch is netted once (NettedLog) and both sides of its change read that;
// keyed, applied by row key.
struct BatchForm {
    bool netted;
    bool keyed;
};
BatchForm FormOf(const core::ViewDefinition& view, size_t changed) {
    // Netted, one changed relation gives each row key at most one deleted
    // and one inserted row: applied by key, like a statement (in place,
    // where the view's rows keep their key).
    if (core::NettedBatchIsKeyed(view, changed)) return {true, true};
    // Several changed occurrences: their delta joins the changes with each
    // other. Logged as is, a row changed n times and a row it joins changed
    // m times meet n * m times (a backlog on hot keys is quadratic);
    // netted, at most twice each.
    if (changed > 1) return {true, false};
    // The batch as logged (a batch may insert and delete the same row:
    // consolidated); ApplyBatches nets it only if that fails.
    return {false, false};
}

// The delta of the batches of `occurrences` in the given form; base_as_of:
// the relation as of a split batch's end (ReadDeltaInput).
core::Delta BatchDelta(const core::ViewDefinition& view, const ChangedLogs& occurrences, BatchForm form,
                       int64 rows_consumed, const std::vector<std::string>& base_as_of) {
    const std::string consumed = "true";  // a batch holds the consumed rows only
    std::vector<core::ChangedOccurrence> changed;
    std::vector<std::string> with;
    for (const auto& [i, log] : occurrences) {
        // Whole rows: every column, in the table's order.
        const auto columns = ColumnsRead(
            *log, core::ReadsWholeRows(view, i) ? AttributeNames(log->base) : view.relations[i].columns_read);
        if (!form.netted) {
            changed.push_back({i, core::LoggedSide(columns, consumed, +1), core::LoggedSide(columns, consumed, -1)});
            continue;
        }
        const std::string name = "__ivm_log" + std::to_string(i);
        with.push_back(core::NettedLog(columns, consumed, name));
        changed.push_back({i, core::NettedSide(name, columns.columns, +1, form.keyed),
                           core::NettedSide(name, columns.columns, -1, form.keyed)});
    }
    core::Delta delta = core::BuildDelta(view, changed);
    delta.with_items.insert(delta.with_items.begin(), with.begin(), with.end());
    delta.consolidate |= !form.keyed;
    delta.update_in_place = form.keyed && core::UpdatesInPlace(view, rows_consumed);
    delta.base_as_of = base_as_of;
    return delta;
}

// Applies the delta of the batches read (ReadDeltaInput) to the IMMV;
// returns the IMMV rows written.
int64 ApplyBatches(ViewMaintainer& maintainer, const DeltaInput& input, int64 rows_consumed, Snapshot snapshot) {
    const auto& view = maintainer.definition();
    // Occurrences of relations whose batches hold rows.
    ChangedLogs occurrences;
    for (size_t i = 0; i < view.relations.size(); ++i)
        for (const auto& batch : input.batches)
            if (batch.source.base == view.relations[i].relation_id) occurrences.push_back({i, &batch.source});
    if (occurrences.empty()) return 0;
    int64 rows_changed = 0;
    auto apply = [&](BatchForm form) {
        rows_changed =
            maintainer.ApplyDelta(BatchDelta(view, occurrences, form, rows_consumed, input.base_as_of), snapshot);
    };
    const BatchForm form = FormOf(view, occurrences.size());
    if (form.netted) {
        apply(form);
    } else if (InSubtransaction([&] { apply(form); })) {
        // Only if the batch as logged fails, netted first (which costs a
        // sort of the batch by row image): the failure may come from a row
        // that no longer exists.
        apply({true, false});
    }
    return rows_changed;
}

// Brings the IMMV forward by the pending batch: a delta of the batch, or a
// recompute (which consumes everything pending). Sets what result says of
// the work done.
void ApplyPending(Oid immv, RefreshKind kind, ViewMaintainer& maintainer, PendingBatch& batch, RefreshResult& result) {
    result.full = RecomputesBatch(kind, maintainer, batch, result.rows_consumed);
    DeltaInput input;
    if (!result.full) result.full = !ReadDeltaInput(maintainer, batch, input);
    if (result.full) {
        batch.batch_end.reset();
        result.rows_consumed = batch.summary.rows;  // a recompute consumes everything pending
        result.more_pending = false;
        result.rows_changed = maintainer.RecomputeAt(batch.snapshot);
    } else {
        result.rows_changed = ApplyBatches(maintainer, input, result.rows_consumed, batch.snapshot);
    }
    UnregisterBatches(input.batches);
    UnregisterBatches(input.later_batches);
}

// Advances the watermark to what the refresh consumed and records the
// refresh in ivmx.refresh_history, in the refresh's transaction. Releases
// the batch's snapshot.
void AdvanceWatermark(Oid immv, const ImmvRecord& record, const PendingBatch& batch, TimestampTz started,
                      const RefreshResult& result) {
    AppliedChanges next;
    const core::XidSnapshot previous =
        batch.known ? *core::XidSnapshot::Parse(record.applied.watermark) : core::XidSnapshot{};
    // A batch ending at an earlier snapshot applied exactly what it shows
    // committed (it includes the previous watermark).
    next.watermark = batch.batch_end ? batch.batch_end->ToText()
                                     : core::ConsumedThrough(batch.seen, previous, batch.own, UINT64_MAX).ToText();
    next.partial_xid = batch.own != 0 && !batch.batch_end ? batch.own : 0;
    next.partial_seq = batch.summary.own_max_seq;
    if (next.partial_xid != 0 && record.applied.partial_xid == batch.own)
        next.partial_seq = std::max<int64>(next.partial_seq, record.applied.partial_seq);
    PgCall([&] { UnregisterSnapshot(batch.snapshot); });
    RecordRefresh(immv, {next, started, result.rows_consumed, result.rows_changed, result.full});
}

// The server log line of ivmx.log_refreshes.
void LogRefresh(Oid immv, const RefreshResult& result) {
    if (!LogRefreshes()) return;
    PgCall([&] {
        ereport(LOG, (errmsg("pg_ivmx refreshed \"%s\": %s, %lld log rows, %lld IMMV rows", get_rel_name(immv),
                             result.full ? "full" : "incremental", static_cast<long long>(result.rows_consumed),
                             static_cast<long long>(result.rows_changed))));
    });
}

}  // namespace

RefreshResult RefreshDeferred(Oid immv, RefreshKind kind, bool scheduled) {
    RefreshResult result;
    if (!LockForRefresh(immv, scheduled)) {
        result.busy = true;
        return result;
    }
    const ImmvRecord record = RequireImmv(immv);
    if (record.mode != MaintenanceMode::Deferred || !record.populated) return result;
    // In REPEATABLE READ or SERIALIZABLE, a refresh that committed after
    // this transaction's snapshot was taken applied changes this snapshot
    // does not show: building on the latest watermark would leave the IMMV
    // short of them here.
    CheckConcurrentRefresh(record, ImmvState::Watermark);
    const TimestampTz started = PgCall([] { return GetCurrentTimestamp(); });
    MaintenanceScope scope;
    // On the analysis the backend keeps (AnalysedImmv): a scheduler
    // refreshing the IMMV round after round analyses its query once, and
    // again only after something the analysis read has changed. The IMMV
    // and the relations it reads are locked: what changed before is seen.
    auto maintainer = LoadMaintainer(record);
    PendingBatch batch = ReadPendingBatch(immv, record, *maintainer, scheduled, result);
    if (result.rows_consumed == 0 && kind != RefreshKind::Full && batch.known) {
        PgCall([&] { UnregisterSnapshot(batch.snapshot); });
        return result;
    }
    // Like any maintenance writing an IMMV, the refresh first locks the
    // immediate IMMVs its writes reach (and those they reach in turn). A
    // write of several kinds at once (a keyed batch updates, deletes and
    // inserts in one statement) keeps its first parts for those IMMVs until
    // its last part: without the locks, a switch of one of them to deferred
    // could commit meanwhile, and the kept parts would be neither applied
    // nor logged for it. A scheduled refresh waits for none of them: it
    // holds the IMMV, and a session holding one of them may be about to
    // wait for the IMMV (a flush in the transaction that wrote): it tries
    // again next round.
    if (!LockMaintenanceForChanges({BatchedChange{immv, {}, {}}}, !scheduled)) {
        PgCall([&] { UnregisterSnapshot(batch.snapshot); });
        result = RefreshResult{};
        result.busy = true;
        return result;
    }
    ApplyPending(immv, kind, *maintainer, batch, result);
    AdvanceWatermark(immv, record, batch, started, result);
    result.collected = CollectGarbage(batch.logs, scheduled);
    LogRefresh(immv, result);
    return result;
}

std::vector<std::pair<std::string, core::MaintenancePlan>> DeferredRefreshPlans(const ViewMaintainer& maintainer) {
    const core::ViewDefinition& view = maintainer.definition();
    std::vector<std::pair<std::string, core::MaintenancePlan>> plans;
    std::vector<LogInfo> logs = LogsOf(view);
    for (LogInfo& log : logs) {
        const std::string changed = core::QuoteQualified(RelationName(log.base));
        log.log = "__ivm_batch_" + std::to_string(log.relid);  // as ReadBatch registers it
        ChangedLogs occurrences;
        for (size_t i = 0; i < view.relations.size(); ++i)
            if (view.relations[i].relation_id == log.base) occurrences.push_back({i, &log});
        const BatchForm form = FormOf(view, occurrences.size());
        plans.emplace_back(changed, core::BuildMaintenancePlan(view, BatchDelta(view, occurrences, form, 0, {})));
    }
    return plans;
}

std::vector<Oid> DeferredUpstream(Oid immv) {
    std::vector<Oid> upstream;
    const core::DependencyGraph graph = LoadDependencyGraph();
    std::set<core::RelationId> deferred;
    // Every deferred IMMV, whoever owns it and whoever flushes.
    for (const ImmvSummary& immv : ListImmvs(CatalogSnapshot::Latest))
        if (immv.mode == MaintenanceMode::Deferred && immv.populated)
            deferred.insert(static_cast<core::RelationId>(immv.relid));
    const std::set<core::RelationId> above = graph.Upstream(immv);
    for (core::RelationId id : graph.TopologicalOrder())
        if (above.count(id) && deferred.count(id)) upstream.push_back(static_cast<Oid>(id));
    return upstream;
}

}  // namespace ivmx::pg
