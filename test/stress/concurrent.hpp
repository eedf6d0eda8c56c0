// The concurrent mode: several sessions (one thread and one connection each)
// change the same tables at once in READ COMMITTED, single statements and
// short transactions, retrying whole units on deadlocks and serialization
// failures. Each session checks every IMMV now and then in its own snapshot,
// and every IMMV is checked once more when all sessions are done.
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
};

// Throws StressFailure on a mismatch or an unexpected error in any session.
RunStats RunConcurrent(const ConcurrentOptions& options);

}  // namespace stress
