// Deferred maintenance: refreshing deferred IMMVs from their delta logs.
//
// The scheduler background worker calls RunSchedulerRound() in a loop; the
// refresh of each view runs in its own transaction inside it.
#pragma once

#include <vector>

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Refreshes every deferred IMMV of the current database that is due, in
// dependency order, each in its own transaction. Must be called outside a
// transaction (it starts and commits its own) with the database connection
// of a background worker. Errors of one view are caught, recorded and
// retried later; they do not stop the round. A cancel or a shutdown (class
// 57, core::IsInterruption) is no error of a view: it ends the round and
// propagates to the caller.
struct RoundOutcome {
    // How many milliseconds the caller may sleep before the next round is
    // due (at most ivmx.naptime).
    long sleep_ms;
    // An IMMV took a batch of ivmx.max_batch_rows and has more pending: the
    // next round starts at once, without ivmx.refresh_delay (which gathers
    // commits into batches; a backlog is batched already).
    bool backlog;
};
RoundOutcome RunSchedulerRound();

// Remembers the current snapshot as a place where a later scheduled refresh
// may end a batch (a round does it itself; the scheduler calls this while
// ivmx.enabled is off, so that a backlog built meanwhile can be split).
// Outside a transaction, like RunSchedulerRound.
void RecordSnapshotMark();

// How a deferred IMMV is brought forward.
enum class RefreshKind {
    Auto,  // incremental from the logs, or a recompute when the delta is large
    Full,  // recompute from the base relations
};

struct RefreshResult {
    int64 rows_consumed = 0;  // log rows applied
    int64 rows_changed = 0;   // IMMV rows written
    bool full = false;
    bool more_pending = false;  // the batch limit left log rows for another round
    bool busy = false;          // not waited for: another session holds the IMMV
    std::vector<std::pair<Oid, int64>> collected;  // per delta log: applied rows deleted
};

// Brings deferred IMMV immv forward in the current transaction, reading the
// logs and base relations in one snapshot taken after locking the IMMV
// (ExclusiveLock: refreshes of one IMMV take turns; readers are not blocked),
// and advances its watermark in the same transaction. Records the refresh
// in ivmx.refresh_history. SPI must be connected.
// scheduled: a refresh in a transaction of the scheduler's own, which ends
// right after it: it returns at once (busy) if another session holds the
// IMMV, and may truncate a log whose rows are all applied.
RefreshResult RefreshDeferred(Oid immv, RefreshKind kind, bool scheduled = false);

// The deferred IMMVs that immv reads directly or transitively, upstream
// first (what ivmx.flush(immv) brings forward before immv). SPI connected.
std::vector<Oid> DeferredUpstream(Oid immv);

// Marks that the current transaction logged changes for deferred IMMVs:
// when it commits, the database's schedulers are woken (see WakeScheduler).
void NoteDeferredChange();

}  // namespace ivmx::pg
