// Deferred maintenance replayed with the core's SQL: statements are logged
// in delta logs under made-up transaction ids, committed in an order that
// is not the order of their ids, and IMMVs are refreshed from their logs as
// extension/deferred_refresh.cpp refreshes them: the pending rows of the
// watermark (and of a partly applied transaction), a batch split at an
// earlier snapshot, the batch read as logged, netted, or netted by row
// key, a transaction that flushes its own rows, and the cleanup of the rows
// every IMMV applied. After every refresh the IMMV must equal its defining
// query over the tables as of the batch's end.
#pragma once

#include <string>
#include <vector>

#include "harness.hpp"

namespace ivmx::sqlb {

struct DeferredOptions {
    int steps = 100;  // multiplied by SQLB_SCALE
    // Scheduled refreshes of single-relation views may end their batch at
    // an earlier snapshot (a split backlog).
    bool splits = true;
    // Transactions may flush an IMMV in the middle of their statements.
    bool own_flushes = true;
    bool non_finite = false;
    bool key_updates = true;
};

// Runs the steps on `tables` (created with logs, `initial_rows` rows each),
// every IMMV in `immvs` a consumer of the logs with a watermark of its own.
// Reports the first difference with ADD_FAILURE; returns whether none.
bool RunDeferred(const std::vector<Immv*>& immvs, const std::vector<TableSpec>& tables, Generator& gen,
                 const std::string& repro, DeferredOptions options = {}, int initial_rows = 12);

}  // namespace ivmx::sqlb
