// The sequential mode: one session runs random statements, alone or in
// transaction blocks with savepoints, and checks every immediate IMMV after
// each statement and after each COMMIT, ROLLBACK and ROLLBACK TO SAVEPOINT.
// Deferred IMMVs are checked right after an ivmx.flush, issued at random
// points (inside transaction blocks too); now and then an IMMV created
// deferred is switched to immediate and back with ivmx.set_mode. The
// background scheduler refreshes deferred IMMVs meanwhile; a flush must make
// them exact whatever it did.
// Deterministic: the seed fixes every statement and so every database state.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

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
    // allows (a unique or foreign key violation). Any other error is a failure.
    bool Execute(const Statement& statement);
    // Sends transaction control that must succeed.
    void Control(const std::string& sql);
    void EndTransaction(bool commit);
    void RollbackToSavepoint(int depth);
    // Checks the IMMVs currently in immediate mode.
    void Check(const std::string& after);
    // Flushes one random deferred IMMV (or, sometimes, all of them) and checks
    // it, the IMMVs it reads and every immediate IMMV.
    // False when the flush failed with a serialization failure, which a
    // REPEATABLE READ or SERIALIZABLE block may get when the scheduler
    // refreshed the IMMV after the block's snapshot: the block must end.
    bool FlushAndCheck();
    bool Flush(const View* view);  // nullptr: ivmx.flush() of every deferred IMMV
    // Switches a random IMMV created deferred to the other mode (outside
    // transaction blocks only).
    void SwitchMode();
    std::vector<const View*> CurrentlyDeferred() const;
    std::vector<const View*> CurrentlyImmediate() const;
    void CheckViews(std::vector<const View*> views, const std::string& after);
    [[noreturn]] void Fail(const std::string& what);

    Connection& conn_;
    Rng& rng_;
    DmlGenerator& dml_;
    History& history_;
    uint64_t seed_;
    RunStats stats_;
    int savepoints_ = 0;                    // open savepoints sp1 .. spN
    std::map<const View*, bool> deferred_;  // current mode of each IMMV
    bool flushed_in_transaction_ = false;
    bool replica_ = false;  // session_replication_role = replica
    bool snapshot_transaction_ = false;
};

}  // namespace stress
