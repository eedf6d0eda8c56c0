// The sequential mode: one session runs random statements, alone or in
// transaction blocks with savepoints, and checks every IMMV after each
// statement and after each COMMIT, ROLLBACK and ROLLBACK TO SAVEPOINT.
// Deterministic: the seed fixes every statement and so every database state.
#pragma once

#include <cstdint>
#include <string>

#include "dml.hpp"
#include "history.hpp"
#include "pg.hpp"
#include "run_stats.hpp"

namespace stress {

class SequentialRunner {
  public:
    SequentialRunner(Connection& conn, Rng& rng, DmlGenerator& dml, History& history,
                     uint64_t seed);

    // Runs `budget` data-changing statements. Throws StressFailure on the
    // first mismatch or unexpected error.
    RunStats Run(long budget);

  private:
    void RunTransaction(long budget);
    // Sends one statement; false when it failed with an error the generator
    // allows (a unique violation). Any other error is a failure.
    bool Execute(const Statement& statement);
    // Sends transaction control that must succeed.
    void Control(const std::string& sql);
    void EndTransaction(bool commit);
    void RollbackToSavepoint(int depth);
    void Check(const std::string& after);
    [[noreturn]] void Fail(const std::string& what);

    Connection& conn_;
    Rng& rng_;
    DmlGenerator& dml_;
    History& history_;
    uint64_t seed_;
    RunStats stats_;
    int savepoints_ = 0;  // open savepoints sp1 .. spN
};

}  // namespace stress
