// A scheduler's round: the deferred IMMVs of the database that are due,
// each refreshed (extension/deferred_refresh.hpp) in a transaction of its
// own, and the vacuum of the logs that lost many rows.
//
// The scheduler background worker calls RunSchedulerRound() in a loop.
#pragma once

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

}  // namespace ivmx::pg
