// A scheduler's round (see scheduler_round.hpp): the due deferred IMMVs in
// a pass order shared out among the database's schedulers, each claimed and
// refreshed in a transaction of its own (RefreshDeferred), failures recorded
// with their back-off, slow refreshes reported, and the logs that lost many
// rows vacuumed at the end.
#include "scheduler_round.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../extension/catalog.hpp"
#include "../extension/deferred_refresh.hpp"
#include "../extension/pg_util.hpp"
#include "../extension/settings.hpp"
#include "ivmx/core/dependency_graph.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/pg/guards.hpp"
#include "shared_state.hpp"

namespace ivmx::pg {

namespace {

struct DueView {
    Oid immv;
    std::vector<Oid> upstream;  // the deferred IMMVs it reads, directly or not
};

// Runs f in a transaction of its own with an active snapshot and an SPI
// connection; commits on success. On a PostgreSQL error the transaction is
// aborted and the error rethrown as PgError.
template <typename F>
void InTransaction(F&& f) {
    PgCall([] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
    try {
        SpiConnect();
        f();
        SpiFinish();
        PgCall([] {
            PopActiveSnapshot();
            CommitTransactionCommand();
        });
    } catch (...) {
        PgCall([] { AbortCurrentTransaction(); });
        throw;
    }
}

// Deferred IMMVs due for a refresh now, in dependency order (upstream views
// first, so that one round brings a chain forward), each with the deferred
// IMMVs upstream of it, leaving out views whose upstream IMMVs are failing;
// and how long until the next one is due (see DeferredSchedule). A view due
// in a day or more (or never, for values numeric cannot order) does not
// shorten the sleep.
std::vector<DueView> DueViews(long& sleep_ms) {
    std::vector<DueView> due;
    InTransaction([&] {
        // Where later refreshes may end a batch (BatchEndAt).
        RememberSnapshotMark(GetActiveSnapshot());
        std::set<core::RelationId> ready, failing, deferred;
        for (const ScheduledImmv& view : DeferredSchedule()) {
            const auto id = static_cast<core::RelationId>(view.relid);
            deferred.insert(id);
            if (view.failing) failing.insert(id);
            if (view.due)
                ready.insert(id);
            else if (view.wait_ms)
                sleep_ms = std::min<long>(sleep_ms, std::max<long>(10L, *view.wait_ms));
        }
        const core::DependencyGraph graph = LoadDependencyGraph();
        // A due view pulls its deferred upstream views along (refresh
        // intervals notwithstanding), so that it is brought to their state.
        std::set<core::RelationId> pulled;
        for (core::RelationId id : ready)
            for (core::RelationId up : graph.Upstream(id))
                if (deferred.count(up) && !failing.count(up)) pulled.insert(up);
        ready.insert(pulled.begin(), pulled.end());
        const std::set<core::RelationId> blocked = graph.BlockedBy(failing);
        std::vector<core::RelationId> order = graph.TopologicalOrder();
        for (core::RelationId id : order) {
            if (!ready.count(id) || blocked.count(id)) continue;
            DueView view{static_cast<Oid>(id), {}};
            for (core::RelationId up : graph.Upstream(id))
                if (deferred.count(up)) view.upstream.push_back(static_cast<Oid>(up));
            due.push_back(std::move(view));
        }
    });
    return due;
}

// The order of one scheduler's pass over the due views (indexes into due,
// which is in dependency order): upstream views before the views reading
// them, otherwise from position `start` on, wrapping around. The schedulers
// of a database start their passes at different positions, and each moves
// its start by one every round: no view is always last in line. (A
// topological sort that takes, among the views whose upstream views are
// placed, the first in rotated order.)
std::vector<size_t> PassOrder(const std::vector<DueView>& due, size_t start) {
    const size_t n = due.size();
    std::map<Oid, size_t> position;
    for (size_t i = 0; i < n; ++i) position[due[i].immv] = i;
    std::vector<size_t> waiting_for(n, 0);
    std::vector<std::vector<size_t>> readers(n);
    for (size_t i = 0; i < n; ++i)
        for (Oid up : due[i].upstream) {
            const auto it = position.find(up);
            if (it == position.end()) continue;
            ++waiting_for[i];
            readers[it->second].push_back(i);
        }
    auto rotated = [&](size_t i) { return (i + n - start % n) % n; };
    std::set<std::pair<size_t, size_t>> ready;  // (rotated position, index)
    for (size_t i = 0; i < n; ++i)
        if (waiting_for[i] == 0) ready.insert({rotated(i), i});
    std::vector<size_t> order;
    while (!ready.empty()) {
        const size_t i = ready.begin()->second;
        ready.erase(ready.begin());
        order.push_back(i);
        for (size_t reader : readers[i])
            if (--waiting_for[reader] == 0) ready.insert({rotated(reader), reader});
    }
    return order;
}

// Where this scheduler's pass starts: the schedulers of the database spread
// evenly over the due views, each moving on by one view per round.
size_t PassStart(size_t due_count) {
    static size_t rounds = 0;
    int rank = 0;
    int count = 1;
    DatabaseSchedulerRank(&rank, &count);
    if (due_count == 0) return 0;
    return (rounds++ + static_cast<size_t>(rank) * due_count / static_cast<size_t>(count)) % due_count;
}

constexpr int kConflictRetryMs = 100;

// Errors that say another transaction was in the way, not that the view
// cannot be refreshed.
bool IsTransientConflict(const PgError& e) {
    return e.sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED || e.sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE ||
           e.sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
}

// Records a failed refresh (RecordRefreshFailure) in a transaction of its
// own; nothing when the IMMV is gone meanwhile (a refresh racing DROP fails,
// and that is no failure of a view).
void RecordFailure(Oid immv, const std::string& message) {
    InTransaction([&] {
        const std::optional<int64> delay = RecordRefreshFailure(immv, message);
        if (!delay) return;
        PgCall([&] {
            ereport(LOG, (errmsg("pg_ivmx could not refresh IMMV with OID %u: %s", immv, message.c_str()),
                          errdetail("Retrying in %lld ms.", static_cast<long long>(*delay))));
        });
    });
}

// Applied log rows deleted by this scheduler since it last vacuumed each log.
std::map<Oid, int64>& DeletedSinceVacuum() {
    static std::map<Oid, int64> deleted;
    return deleted;
}

// A log is vacuumed once this many of its rows were deleted: every refresh
// scans its log, and PostgreSQL reuses a deleted row's space only after a
// vacuum; autovacuum alone (a minute apart by default) would let a busy log
// grow to many times its pending rows.
constexpr int64 kVacuumAfterDeletedRows = 20000;
// In a round that applied nothing (a burst of writes is over), a log is
// vacuumed once this many of its rows were deleted, and the vacuum gives
// its empty pages back (truncates the file): the log does not keep the
// burst's size until autovacuum comes by. (Under load the file is never
// truncated: that takes AccessExclusiveLock, which would stall writers.)
constexpr int64 kVacuumWhenIdleAfterDeletedRows = 1000;

// Vacuums the logs due (see above), outside the refresh transactions.
void VacuumLogs(bool idle) {
    const int64 threshold = idle ? kVacuumWhenIdleAfterDeletedRows : kVacuumAfterDeletedRows;
    auto& deleted = DeletedSinceVacuum();
    for (auto it = deleted.begin(); it != deleted.end();) {
        if (it->second < threshold) {
            ++it;
            continue;
        }
        const Oid log = it->first;
        const int64 rows = it->second;
        it = deleted.erase(it);
        const MemoryContext round = CurrentMemoryContext;
        const MemoryContext portal = PortalContext;
        bool busy = false;
        try {
            PgCall([&] {
                SetCurrentStatementStartTimestamp();
                StartTransactionCommand();
                // What vacuum() keeps across its own transactions lives in
                // the round's context (vacuum() makes its context in
                // PortalContext, which a background worker does not have).
                MemoryContextSwitchTo(round);
                PortalContext = round;
                char* name = get_rel_name(log);
                // Another vacuum of the log (another scheduler's, autovacuum)
                // or a refresh deleting from it is under way: later, rather
                // than have vacuum warn that it skipped the log.
                busy = name != nullptr && !ConditionalLockRelationOid(log, ShareUpdateExclusiveLock);
                if (name != nullptr && !busy) {
                    UnlockRelationOid(log, ShareUpdateExclusiveLock);
                    // Truncation waits (up to 5 s) for sessions that hold the
                    // log, say an open transaction that wrote its table: it
                    // is only tried when nobody does right now.
                    bool truncate = idle && ConditionalLockRelationOid(log, AccessExclusiveLock);
                    if (truncate) UnlockRelationOid(log, AccessExclusiveLock);
                    RangeVar* range = makeRangeVar(get_namespace_name(get_rel_namespace(log)), name, -1);
                    compat::VacuumTable(makeVacuumRelation(range, log, NIL), truncate);
                }
                PortalContext = portal;
                CommitTransactionCommand();
                MemoryContextSwitchTo(round);
            });
        } catch (const PgError& e) {
            PortalContext = portal;
            PgCall([&] {
                AbortCurrentTransaction();
                MemoryContextSwitchTo(round);
            });
            // A cancel or a shutdown ends the round; other failures wait
            // for the next vacuum of the log.
            if (IsInterruption(e)) throw;
            PgCall([&] {
                ereport(LOG, (errmsg("pg_ivmx scheduler could not vacuum delta log with OID %u: %s", log, e.what())));
            });
        }
        if (busy) deleted[log] += rows;  // behind the iterator: not seen again this time
    }
}

// What a round has found so far.
struct RoundState {
    long sleep_ms;
    bool backlog;
    bool applied;
};

// A refresh that took ivmx.refresh_warn_time or longer.
struct SlowRefresh {
    std::string immv;  // qualified name
    long elapsed_ms;
    RefreshResult result;
};

void LogSlowRefresh(const SlowRefresh& slow) {
    PgCall([&] {
        ereport(LOG,
                (errmsg("pg_ivmx refresh of IMMV %s took %ld ms", slow.immv.c_str(), slow.elapsed_ms),
                 errdetail("The %s refresh applied %lld log rows and changed %lld IMMV rows; "
                           "ivmx.refresh_warn_time is %d ms (waits for locks count).",
                           slow.result.full ? "full" : "incremental", static_cast<long long>(slow.result.rows_consumed),
                           static_cast<long long>(slow.result.rows_changed), RefreshWarnTimeMs())));
    });
}

// Refreshes one due view in a transaction of its own. Its failure is
// recorded (or, for a conflict with a session, retried soon); it does not
// end the round, unless it is a cancel or a shutdown, which is rethrown.
void RefreshDueView(const DueView& view, RoundState& round) {
    std::optional<SlowRefresh> slow;
    try {
        const TimestampTz started = PgCall([] { return GetCurrentTimestamp(); });
        InTransaction([&] {
            if (!PgCall([&] { return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(view.immv)); })) return;
            const RefreshResult result =
                WithMaintenanceSettings([&] { return RefreshDeferred(view.immv, RefreshKind::Auto, true); });
            if (result.more_pending) {
                round.sleep_ms = 0;
                round.backlog = true;
            }
            round.applied |= result.rows_consumed > 0 || result.full;
            if (result.busy) round.sleep_ms = std::min<long>(round.sleep_ms, 100);
            for (const auto& [log, rows] : result.collected) DeletedSinceVacuum()[log] += rows;
            // Lock waits included: the IMMV was behind all that time.
            const long elapsed_ms = PgCall([&] { return static_cast<long>((GetCurrentTimestamp() - started) / 1000); });
            if (RefreshWarnTimeMs() > 0 && elapsed_ms >= RefreshWarnTimeMs() &&
                (result.rows_consumed > 0 || result.full)) {
                // In the refresh's own transaction (ivmx.immv_status shows it).
                RecordSlowRefresh(view.immv, started, elapsed_ms);
                slow = SlowRefresh{core::QuoteQualified(RelationName(view.immv)), elapsed_ms, result};
            }
        });
    } catch (const PgError& e) {
        // A cancel or a shutdown is no failure of the view: it ends the
        // round (see RunSchedulerRound).
        if (IsInterruption(e)) throw;
        if (!IsTransientConflict(e)) {
            RecordFailure(view.immv, e.what());
            return;
        }
        // Lost a deadlock or a serialization conflict to a session: not a
        // failure of the view; the next round (soon) tries again.
        PgCall([&] {
            ereport(LOG, (errmsg("pg_ivmx scheduler gave way to a concurrent transaction on IMMV "
                                 "with OID %u: %s",
                                 view.immv, e.what()),
                          errdetail("Retrying in at most %d ms.", kConflictRetryMs)));
        });
        round.sleep_ms = std::min<long>(round.sleep_ms, kConflictRetryMs);
        return;
    } catch (const std::exception& e) {
        // The engine's own errors are failures of this view, not of the
        // scheduler: the other views go on.
        RecordFailure(view.immv, e.what());
        return;
    }
    if (slow) LogSlowRefresh(*slow);  // once committed
}

}  // namespace

// The schedulers of a database share its due views: each claims a view
// before refreshing it (ClaimImmv) and leaves alone, until a later round, a
// view that another one is refreshing, or whose upstream IMMV another one is
// refreshing (upstream before downstream). A slow refresh thus holds up its
// own scheduler and the views downstream of it, not the others.
void RecordSnapshotMark() {
    InTransaction([] {
        // Not while pg_ivmx is being dropped or created (the scheduler finds
        // out and leaves by itself).
        const bool installed = PgCall([] {
            const Oid nsp = get_namespace_oid("ivmx", true);
            return OidIsValid(nsp) && OidIsValid(get_relname_relid("snapshot_mark", nsp));
        });
        if (installed) RememberSnapshotMark(GetActiveSnapshot());
    });
}

RoundOutcome RunSchedulerRound() {
    RoundState round{NaptimeMs(), false, false};
    std::vector<DueView> due;
    ReleaseImmv();  // none is held between rounds
    try {
        due = DueViews(round.sleep_ms);
    } catch (const PgError& e) {
        // No view can be refreshed this round; the scheduler stays (a
        // background worker's error would end it, and every restart would
        // fail the same way). A cancel or a shutdown still ends the round.
        if (IsInterruption(e)) throw;
        PgCall([&] {
            ereport(LOG, (errmsg("pg_ivmx scheduler could not find the IMMVs due for a refresh: %s", e.what()),
                          errdetail("Retrying in %d ms.", NaptimeMs())));
        });
        return {NaptimeMs(), false};
    }
    for (size_t i : PassOrder(due, PassStart(due.size()))) {
        const DueView& view = due[i];
        if (!ClaimImmv(view.immv, view.upstream.data(), static_cast<int>(view.upstream.size()))) continue;
        RefreshDueView(view, round);
        ReleaseImmv();
    }
    VacuumLogs(!round.applied);
    return {round.sleep_ms, round.backlog};
}

}  // namespace ivmx::pg
