// The refresh of deferred IMMVs from their delta logs, in the caller's
// transaction: run by the schedulers (scheduler/scheduler_round.cpp) and by
// user sessions (ivmx.flush, ivmx.set_mode, ivmx.refresh_immv, a TRUNCATE
// recomputing an IMMV). The SQL it runs on the logs is written by the core
// (include/ivmx/core/deferred_sql.hpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ivmx/core/sql_writer.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

class ViewMaintainer;

// How a deferred IMMV is brought forward.
enum class RefreshKind {
    Auto,  // incremental from the logs, or a recompute when the delta is large
    Full,  // recompute from the base relations
};

struct RefreshResult {
    int64 rows_consumed = 0;  // log rows applied
    int64 rows_changed = 0;   // IMMV rows written
    bool full = false;
    bool more_pending = false;                     // the batch limit left log rows for another round
    bool busy = false;                             // not waited for: another session holds the IMMV
    std::vector<std::pair<Oid, int64>> collected;  // per delta log: applied rows deleted
};

// Brings deferred IMMV immv forward in the current transaction, reading the
// logs and base relations in one snapshot taken after locking the IMMV
// (ExclusiveLock: refreshes of one IMMV take turns; readers are not blocked),
// and advances its watermark in the same transaction. Records the refresh
// in ivmx.refresh_history. SPI must be connected.
// scheduled: a refresh in a transaction of the scheduler's own, which ends
// right after it: it returns at once (busy) if another session holds the
// IMMV, may end a large backlog's batch at an earlier snapshot mark, and may
// truncate a log whose rows are all applied.
RefreshResult RefreshDeferred(Oid immv, RefreshKind kind, bool scheduled = false);

// What a refresh of the deferred IMMV of `maintainer` runs for a batch of
// changes to one of its relations, per relation (its qualified name): the
// delta of the batch (the netted logs as WITH queries, when it is netted)
// applied by the IMMV's maintenance plan, reading the batch as a refresh
// registers it (__ivm_batch_<log>). A batch read as logged is netted
// instead when that fails; a split batch of a view recomputing groups reads
// the relation as of its end. (ivmx.explain_immv.) SPI connected.
std::vector<std::pair<std::string, core::MaintenancePlan>> DeferredRefreshPlans(const ViewMaintainer& maintainer);

// The deferred IMMVs that immv reads directly or transitively, upstream
// first (what ivmx.flush(immv) brings forward before immv). SPI connected.
std::vector<Oid> DeferredUpstream(Oid immv);

}  // namespace ivmx::pg
