// The sequential mode of the stress test (see sequential.hpp).
#include "sequential.hpp"

#include <chrono>
#include <thread>

#include "checker.hpp"
#include "pg.hpp"
#include "server_settings.hpp"

namespace stress {

namespace {

std::vector<const View*> AllViews() {
    std::vector<const View*> out;
    for (const View& view : Views()) out.push_back(&view);
    return out;
}

}  // namespace

SequentialRunner::SequentialRunner(Connection& conn, Rng& rng, DmlGenerator& dml, History& history, uint64_t seed,
                                   Connection* side)
    : conn_(conn), rng_(rng), dml_(dml), history_(history), seed_(seed), side_(side) {
    for (const View& view : Views()) deferred_[&view] = view.deferred;
}

RunStats SequentialRunner::Run(long budget) {
    const auto start = std::chrono::steady_clock::now();
    Check("setup");
    // The only other writer here is the scheduler, which gives way in a
    // deadlock (it checks after a tenth of its deadlock_timeout, the
    // server's) provided this session does not check first: the
    // connection's 20ms would make a flush or TRUNCATE the victim.
    Control("SET deadlock_timeout = '1s'");
    if (side_ != nullptr) SideControl("SET deadlock_timeout = '1s'");
    // Small batches from the start, so that the scheduler and every flush
    // split what is pending; full recomputes off for part of the run.
    ChangeBatchRows();
    if (rng_.Percent(50)) ToggleFullRefreshRatio();
    FlushAndCheck();
    while (stats_.statements < budget) {
        if (rng_.Percent(2)) ChangeBatchRows();
        if (rng_.Percent(1)) ToggleFullRefreshRatio();
        if (rng_.Percent(10)) FlushAndCheck();
        if (rng_.Percent(1)) SwitchMode();
        SideStep();
        // Stretches in replica mode (what logical replication's apply runs
        // in): ordinary triggers and foreign keys are off, pg_ivmx's are not.
        if (rng_.Percent(2)) {
            replica_ = !replica_;
            Control(replica_ ? "SET session_replication_role = replica" : "RESET session_replication_role");
        }
        if (rng_.Percent(15)) {
            RunTransaction(budget);
        } else {
            Execute(dml_.Next());
            Check("statement #" + std::to_string(stats_.statements));
        }
    }
    if (side_open_) SideControl("ROLLBACK");
    if (side_paused_scheduler_) ChangeSetting(kSchedulerEnabled, "");
    stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats_;
}

// The second session, between the first one's top-level steps (when the
// first holds no lock): now and then it opens a transaction and takes a
// transaction id at once, lets the first session run a few steps (whose
// transactions get newer ids and commit first), then writes one statement
// and commits (or rolls back). Its log rows then carry an older id than
// rows committed before them: deferred batches split by
// ivmx.max_batch_rows must still apply changes of one row in the order they
// committed. Mostly the scheduler is off meanwhile (ivmx.enabled) and
// ivmx.full_refresh_ratio 0, so that the first session's changes are still
// pending when the second commits; then the scheduler is back on, and once
// it has drained the backlog (in split, incremental batches), every IMMV is
// checked without a flush.
void SequentialRunner::SideStep() {
    if (side_ == nullptr) return;
    if (!side_open_) {
        if (!rng_.Percent(4)) return;
        side_paused_scheduler_ = rng_.Percent(75);
        if (side_paused_scheduler_) {
            ChangeSetting(kSchedulerEnabled, "off");
            // A large batch would be recomputed rather than split.
            if (!ratio_zero_) ToggleFullRefreshRatio();
        }
        SideControl("BEGIN");
        SideControl("SELECT pg_current_xact_id()");
        side_open_ = true;
        side_wait_ = rng_.Between(1, 6);
        return;
    }
    if (--side_wait_ > 0) return;
    // Half of the time both sessions change every row of one table, the
    // first one right before the second: the same rows change twice, in
    // columns the single-table deferred IMMVs read.
    static const std::vector<std::string> every_row = {
        "UPDATE t_pk SET v = v + 0.25", "UPDATE t_bag SET n = (n + 1) % 4", "UPDATE t_fk SET w = (w + 1) % 3",
        "UPDATE t_kv SET x = (x + 1) % 5"};
    const bool every = rng_.Percent(50);
    const Statement statement = every ? Statement{rng_.Pick(every_row)} : dml_.Next();
    if (every) {
        Execute(statement);
        Check("statement #" + std::to_string(stats_.statements));
    }
    // A scheduler takes a snapshot when a commit wakes it (also while it is
    // off), where it may later end a batch: give it the time to take one
    // that shows the first session's commits but not the second's.
    if (side_paused_scheduler_) std::this_thread::sleep_for(std::chrono::milliseconds(150));
    bool commit = rng_.Percent(80);
    const long number = ++stats_.statements;
    SqlResult result =
        statement.IsCopy() ? side_->Copy(statement.sql, statement.copy_rows) : side_->Exec(statement.sql);
    if (!result.ok) {
        if (result.sqlstate == sqlstate::kUniqueViolation) {
            ++stats_.unique_violations;
        } else if (result.sqlstate == sqlstate::kForeignKeyViolation) {
            ++stats_.foreign_key_violations;
        } else {
            history_.Record(number, Commented(statement.Script()), "second session: " + result.Summary());
            Fail("statement #" + std::to_string(number) + " of the second session failed: " + result.Summary());
        }
        commit = false;
    }
    // Replayed in one session, the statement runs here in autocommit: the
    // same data, without the interleaved transaction ids.
    history_.Record(number, commit ? statement.Script() : Commented(statement.Script()),
                    "second session, transaction id taken earlier: " + result.Summary() +
                        (commit ? ", committed" : ", rolled back"));
    SideControl(commit ? "COMMIT" : "ROLLBACK");
    side_open_ = false;
    ++stats_.side_transactions;
    Check("the second session's " + std::string(commit ? "COMMIT" : "ROLLBACK") + " of statement #" +
          std::to_string(number));
    if (!side_paused_scheduler_) return;
    ChangeSetting(kSchedulerEnabled, "");
    side_paused_scheduler_ = false;
    CheckDrained("the scheduler applied the backlog of the second session's transaction #" + std::to_string(number) +
                 " (max_batch_rows " + std::to_string(batch_rows_) + ")");
}

// Waits until no deferred IMMV has pending log rows, then verifies every
// IMMV. With no other writer, a drained IMMV must equal its query; an IMMV
// that differs is checked again while anything is pending (a refresh of an
// IMMV it reads may have committed since). Falls back to ivmx.flush() when
// the scheduler does not drain everything within 10 s.
void SequentialRunner::CheckDrained(const std::string& after) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::seconds(10);
    const std::string pending_sql =
        "SELECT coalesce(sum(pending_rows), 0) FROM ivmx.immv_status WHERE mode = 'deferred'";
    for (;;) {
        if (conn_.Scalar(pending_sql) == "0") {
            const bool exact = Verify(conn_, AllViews()).empty();
            if (exact || conn_.Scalar(pending_sql) == "0") {
                ++stats_.drains;
                stats_.drain_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                if (exact)
                    ++stats_.checks;
                else
                    CheckViews(AllViews(), after);  // explains the difference and fails
                return;
            }
        }
        if (std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ++stats_.drain_timeouts;
    if (Flush(nullptr)) CheckViews(AllViews(), "SELECT ivmx.flush() (the scheduler was too slow)");
}

void SequentialRunner::SideControl(const std::string& sql) {
    SqlResult result = side_->Exec(sql);
    history_.Record(0, Commented(sql + ";"), "second session: " + result.Summary());
    if (!result.ok) Fail(sql + " failed in the second session: " + result.Summary());
}

std::string SequentialRunner::Commented(const std::string& script) {
    std::string out = "-- ";
    for (char c : script) {
        out += c;
        if (c == '\n') out += "-- ";
    }
    return out;
}

// BEGIN, a few steps (statements, SAVEPOINT, ROLLBACK TO, RELEASE), then
// COMMIT or ROLLBACK. A statement that fails rolls back to the newest
// savepoint, or ends the transaction when there is none.
void SequentialRunner::RunTransaction(long budget) {
    const std::vector<std::string> isolation = {"", " ISOLATION LEVEL REPEATABLE READ",
                                                " ISOLATION LEVEL SERIALIZABLE"};
    const std::string level = rng_.Pick(isolation);
    Control("BEGIN" + level);
    snapshot_transaction_ = !level.empty();
    ++stats_.transactions;
    savepoints_ = 0;
    flushed_in_transaction_ = false;
    const int steps = rng_.Between(2, 8);
    for (int step = 0; step < steps && stats_.statements < budget; ++step) {
        switch (rng_.Weighted({70, 12, 10, 8, 9})) {
            case 0:
                ++stats_.in_transactions;
                if (Execute(dml_.Next())) {
                    Check("statement #" + std::to_string(stats_.statements));
                } else if (savepoints_ > 0) {
                    RollbackToSavepoint(savepoints_);
                } else {
                    EndTransaction(false);
                    return;
                }
                break;
            case 1:
                Control("SAVEPOINT sp" + std::to_string(++savepoints_));
                break;
            case 2:
                if (savepoints_ > 0) RollbackToSavepoint(rng_.Between(1, savepoints_));
                break;
            case 3:
                if (savepoints_ > 0) {
                    const int depth = rng_.Between(1, savepoints_);
                    Control("RELEASE SAVEPOINT sp" + std::to_string(depth));
                    savepoints_ = depth - 1;
                }
                break;
            default:
                // The flush applies this transaction's own uncommitted changes.
                flushed_in_transaction_ = true;
                if (!FlushAndCheck()) {
                    EndTransaction(false);
                    return;
                }
        }
    }
    EndTransaction(rng_.Percent(75));
}

void SequentialRunner::RollbackToSavepoint(int depth) {
    Control("ROLLBACK TO SAVEPOINT sp" + std::to_string(depth));
    savepoints_ = depth;  // the savepoint survives; newer ones are gone
    ++stats_.savepoint_rollbacks;
    Check("ROLLBACK TO SAVEPOINT sp" + std::to_string(depth));
}

void SequentialRunner::EndTransaction(bool commit) {
    Control(commit ? "COMMIT" : "ROLLBACK");
    snapshot_transaction_ = false;
    if (!commit) ++stats_.rolled_back;
    Check(commit ? "COMMIT" : "ROLLBACK");
    // What a flush inside the block applied is committed or rolled back with
    // it; the next flush must leave every deferred IMMV exact either way.
    if (flushed_in_transaction_ && rng_.Percent(50)) FlushAndCheck();
    flushed_in_transaction_ = false;
}

bool SequentialRunner::Execute(const Statement& statement) {
    const long number = ++stats_.statements;
    SqlResult result = statement.IsCopy() ? conn_.Copy(statement.sql, statement.copy_rows) : conn_.Exec(statement.sql);
    history_.Record(number, statement.Script(), result.Summary());
    if (result.ok) return true;
    if (result.sqlstate == sqlstate::kUniqueViolation) {
        ++stats_.unique_violations;
        return false;
    }
    if (result.sqlstate == sqlstate::kForeignKeyViolation) {
        ++stats_.foreign_key_violations;
        return false;
    }
    // TRUNCATE recomputes deferred IMMVs, which a snapshot transaction cannot
    // do after the scheduler refreshed them since its snapshot.
    if (snapshot_transaction_ && result.sqlstate == sqlstate::kSerializationFailure) {
        ++stats_.serialization_retries;
        return false;
    }
    Fail("statement #" + std::to_string(number) + " failed: " + result.Summary());
}

void SequentialRunner::Control(const std::string& sql) {
    SqlResult result = conn_.Exec(sql);
    history_.Record(0, sql + ";", result.Summary());
    if (!result.ok) Fail(sql + " failed: " + result.Summary());
}

void SequentialRunner::Check(const std::string& after) {
    CheckViews(CurrentlyImmediate(), after);
}

std::vector<const View*> SequentialRunner::CurrentlyDeferred() const {
    std::vector<const View*> out;
    for (const View& view : Views())
        if (deferred_.at(&view)) out.push_back(&view);
    return out;
}

std::vector<const View*> SequentialRunner::CurrentlyImmediate() const {
    std::vector<const View*> out;
    for (const View& view : Views())
        if (!deferred_.at(&view)) out.push_back(&view);
    return out;
}

bool SequentialRunner::Flush(const View* view) {
    const std::string sql = view == nullptr ? "SELECT ivmx.flush()" : "SELECT ivmx.flush(" + Quote(view->name) + ")";
    ++stats_.flushes;
    SqlResult result = conn_.Exec(sql);
    history_.Record(0, sql + ";", result.Summary());
    if (result.ok) return true;
    if (snapshot_transaction_ && result.sqlstate == sqlstate::kSerializationFailure) {
        ++stats_.serialization_retries;
        return false;
    }
    Fail(sql + " failed: " + result.Summary());
}

bool SequentialRunner::FlushAndCheck() {
    const std::vector<const View*> deferred = CurrentlyDeferred();
    if (deferred.empty()) return true;
    if (rng_.Percent(20)) {
        if (!Flush(nullptr)) return false;
        CheckViews(AllViews(), "SELECT ivmx.flush()");
        return true;
    }
    const View* view = rng_.Pick(deferred);
    if (!Flush(view)) return false;
    // The flush brought the IMMVs it reads forward first; immediate IMMVs
    // over it changed with it.
    std::vector<const View*> views = ViewAndUpstream(*view);
    for (const View* v : CurrentlyImmediate()) views.push_back(v);
    CheckViews(views, "SELECT ivmx.flush('" + view->name + "')");
    return true;
}

void SequentialRunner::SwitchMode() {
    // Now and then both levels of a nested pair, one right after the other.
    if (rng_.Percent(30)) {
        const auto link = rng_.Pick(NestedLinks());
        const bool upstream_first = rng_.Percent(50);
        ++stats_.chain_switches;
        SwitchOne(upstream_first ? link.first : link.second);
        SwitchOne(upstream_first ? link.second : link.first);
        return;
    }
    SwitchOne(rng_.Pick(SwitchableViews()));
}

void SequentialRunner::SwitchOne(const View* view) {
    const bool to_deferred = !deferred_.at(view);
    const std::string sql =
        "SELECT ivmx.set_mode(" + Quote(view->name) + ", '" + (to_deferred ? "deferred" : "immediate") + "')";
    ++stats_.mode_switches;
    Control(sql);
    deferred_[view] = to_deferred;
    // Switching to immediate applies everything pending: check at once.
    Check(sql);
}

void SequentialRunner::ChangeSetting(const std::string& name, const std::string& value) {
    for (const std::string& sql : ChangeSettingSql(name, value)) Control(sql);
    if (!AwaitSetting(conn_, name, value))
        Fail("the session did not see " + name + " = '" + value + "' after pg_reload_conf()");
}

void SequentialRunner::ChangeBatchRows() {
    batch_rows_ = PickBatchRows(rng_, batch_rows_);
    ++stats_.batch_rows_changes;
    ChangeSetting(kMaxBatchRows, std::to_string(batch_rows_));
}

void SequentialRunner::ToggleFullRefreshRatio() {
    ratio_zero_ = !ratio_zero_;
    ++stats_.ratio_changes;
    ChangeSetting(kFullRefreshRatio, ratio_zero_ ? "0" : "");
}

// Maintenance of a join IMMV computes its delta in the latest snapshot and
// applies it to the latest version of the IMMV's rows, so a REPEATABLE READ
// or SERIALIZABLE transaction that writes one of the IMMV's tables after
// another transaction changed the same rows since its snapshot sees the old
// and the new version of those rows until it ends (no serialization
// failure; the committed IMMV is right). In this mode the only other writer
// is the scheduler, which writes an immediate IMMV when it refreshes a
// deferred IMMV it reads: such IMMVs, when they also join a table (or
// combine it in a set operation, maintained alike), are checked only
// outside snapshot transactions.
bool SequentialRunner::WrittenByScheduler(const View* view) const {
    static const char* const combining[] = {" JOIN ", " UNION ", " INTERSECT ", " EXCEPT "};
    bool combines = false;
    for (const char* word : combining) combines = combines || view->query.find(word) != std::string::npos;
    if (deferred_.at(view) || view->reads.empty() || !combines) return false;
    for (const View* upstream : ViewAndUpstream(*view))
        if (upstream != view && deferred_.at(upstream)) return true;
    return false;
}

void SequentialRunner::CheckViews(std::vector<const View*> views, const std::string& after) {
    if (snapshot_transaction_) {
        std::vector<const View*> checked;
        for (const View* view : views)
            if (!WrittenByScheduler(view)) checked.push_back(view);
        views.swap(checked);
    }
    ++stats_.checks;
    std::vector<Mismatch> mismatches;
    try {
        mismatches = Verify(conn_, views);
    } catch (const DatabaseError& e) {
        Fail("verification after " + after + " failed: " + e.what());
    }
    if (mismatches.empty()) return;
    std::string report = "IMMV mismatch after " + after + "\n";
    for (const Mismatch& m : mismatches) report += "\n" + ExplainMismatch(conn_, m);
    Fail(report);
}

void SequentialRunner::Fail(const std::string& what) {
    std::string report = "sequential mode FAILED (seed " + std::to_string(seed_) + ", after statement #" +
                         std::to_string(stats_.statements) + ")\n" + what + "\n";
    report += "\nlast statements (oldest first):\n" + history_.Recent();
    if (!history_.script_path().empty())
        report += "\nevery statement of this run, as a psql script: " + history_.script_path() + "\n";
    throw StressFailure(report);
}

}  // namespace stress
