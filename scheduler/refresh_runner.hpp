// Deferred maintenance: refreshing deferred IMMVs from their delta logs.
//
// The scheduler background worker calls RunSchedulerRound() in a loop; the
// refresh of each view runs in its own transaction inside it.
#pragma once

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Refreshes every deferred IMMV of the current database that is due, in
// dependency order, each in its own transaction. Must be called outside a
// transaction (it starts and commits its own) with the database connection
// of a background worker. Errors of one view are caught, recorded and
// retried later; they do not stop the round. Returns how many milliseconds
// the caller may sleep before the next round is due (at most ivmx.naptime).
long RunSchedulerRound();

// Marks that the current transaction logged changes for deferred IMMVs:
// when it commits, the database's scheduler is woken.
void NoteDeferredChange();

}  // namespace ivmx::pg
