// The sequential mode: one session runs random statements, alone or in
// transaction blocks with savepoints, and checks every immediate IMMV after
// each statement and after each COMMIT, ROLLBACK and ROLLBACK TO SAVEPOINT.
// Deferred IMMVs are checked right after an ivmx.flush, issued at random
// points (inside transaction blocks too); now and then an IMMV created
// deferred, or a nested IMMV, is switched to the other mode with
// ivmx.set_mode (sometimes both levels of a nested pair at once). Between
// statements, the session sets ivmx.max_batch_rows to small values (and
// ivmx.full_refresh_ratio to 0 for stretches) cluster-wide, so that flushes
// and the scheduler apply split batches. The background scheduler refreshes
// deferred IMMVs meanwhile; a flush must make them exact whatever it did.
// A second connection now and then takes a transaction id, waits a few
// steps and then writes and commits, so that changes commit in another
// order than their transaction ids; then the scheduler alone must apply the
// backlog exactly (see SideStep).
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
    // `side`: a second connection to the same database (may be null), see SideStep.
    SequentialRunner(Connection& conn, Rng& rng, DmlGenerator& dml, History& history, uint64_t seed,
                     Connection* side = nullptr);

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
    // Switches a random IMMV created deferred, or a nested IMMV, to the other
    // mode, or both levels of a nested pair one after the other (outside
    // transaction blocks only).
    void SwitchMode();
    void SwitchOne(const View* view);
    // One step of the second session: opens its transaction (taking an id),
    // or, a few steps later, writes one statement and commits or rolls back.
    void SideStep();
    void SideControl(const std::string& sql);
    void CheckDrained(const std::string& after);
    // `script` as SQL comments (recorded, not replayed).
    static std::string Commented(const std::string& script);
    // ALTER SYSTEM SET (value empty: RESET) and pg_reload_conf(), between
    // statements; waits until this session runs with the new value.
    void ChangeSetting(const std::string& name, const std::string& value);
    // ivmx.max_batch_rows to another small value.
    void ChangeBatchRows();
    // ivmx.full_refresh_ratio to 0 (batches stay incremental) or back.
    void ToggleFullRefreshRatio();
    std::vector<const View*> CurrentlyDeferred() const;
    std::vector<const View*> CurrentlyImmediate() const;
    // Verifies `views` (inside a snapshot transaction, less those for which
    // WrittenByScheduler holds).
    void CheckViews(std::vector<const View*> views, const std::string& after);
    bool WrittenByScheduler(const View* view) const;
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
    Connection* side_;
    bool side_open_ = false;              // the second session's transaction is open
    int side_wait_ = 0;                   // steps until it writes
    bool side_paused_scheduler_ = false;  // ivmx.enabled = off until it ends
    int batch_rows_ = 0;                  // ivmx.max_batch_rows set last
    bool ratio_zero_ = false;             // ivmx.full_refresh_ratio = 0 (else its default)
};

}  // namespace stress
