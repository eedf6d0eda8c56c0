// The concurrent mode: several sessions (one thread and one connection each)
// change the same tables at once in READ COMMITTED, single statements and
// short transactions, retrying whole units on deadlocks and serialization
// failures. One session changes ivmx.max_batch_rows and
// ivmx.full_refresh_ratio now and then, another switches deferred and nested
// IMMVs between modes with ivmx.set_mode (sometimes both levels of a nested
// pair). Each session checks the IMMVs whose mode never changes now and then
// in its own snapshot, and every IMMV is checked once more when all sessions
// are done: after a flush in the modes the run left, and after switching
// every IMMV back to the mode it was created in.
// Each session's statements follow from the seed; their interleaving does not.
#pragma once

#include <cstdint>
#include <string>

#include "run_stats.hpp"

namespace stress {

struct ConcurrentOptions {
    std::string dbname;  // prepared with CreateSchema
    uint64_t seed = 0;
    int sessions = 4;
    long statements_per_session = 0;
    std::string deadlock_log;  // file for every deadlock the sessions get, classified (empty: none)
};

// Throws StressFailure on a mismatch or an unexpected error in any session,
// and at the end if maintenance caused a deadlock (see deadlocks.hpp).
RunStats RunConcurrent(const ConcurrentOptions& options);

}  // namespace stress
