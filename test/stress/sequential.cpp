// The sequential mode of the stress test (see sequential.hpp).
#include "sequential.hpp"

#include <chrono>

#include "pg.hpp"

#include "checker.hpp"

namespace stress {

namespace {

std::vector<const View*> AllViews() {
    std::vector<const View*> out;
    for (const View& view : Views()) out.push_back(&view);
    return out;
}

}  // namespace

SequentialRunner::SequentialRunner(Connection& conn, Rng& rng, DmlGenerator& dml, History& history,
                                   uint64_t seed)
    : conn_(conn), rng_(rng), dml_(dml), history_(history), seed_(seed) {
    for (const View& view : Views()) deferred_[&view] = view.deferred;
}

RunStats SequentialRunner::Run(long budget) {
    const auto start = std::chrono::steady_clock::now();
    Check("setup");
    FlushAndCheck();
    while (stats_.statements < budget) {
        if (rng_.Percent(10)) FlushAndCheck();
        if (rng_.Percent(1)) SwitchMode();
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
    stats_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats_;
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
    if (!commit) ++stats_.rolled_back;
    Check(commit ? "COMMIT" : "ROLLBACK");
    // What a flush inside the block applied is committed or rolled back with
    // it; the next flush must leave every deferred IMMV exact either way.
    snapshot_transaction_ = false;
    if (flushed_in_transaction_ && rng_.Percent(50)) FlushAndCheck();
    flushed_in_transaction_ = false;
}

bool SequentialRunner::Execute(const Statement& statement) {
    const long number = ++stats_.statements;
    SqlResult result = statement.IsCopy() ? conn_.Copy(statement.sql, statement.copy_rows)
                                          : conn_.Exec(statement.sql);
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
    const std::string sql =
        view == nullptr ? "SELECT ivmx.flush()" : "SELECT ivmx.flush(" + Quote(view->name) + ")";
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
    std::vector<const View*> switchable;
    for (const View& view : Views())
        if (view.deferred) switchable.push_back(&view);
    const View* view = rng_.Pick(switchable);
    const bool to_deferred = !deferred_.at(view);
    const std::string sql = "SELECT ivmx.set_mode(" + Quote(view->name) + ", '" +
                            (to_deferred ? "deferred" : "immediate") + "')";
    ++stats_.mode_switches;
    Control(sql);
    deferred_[view] = to_deferred;
    // Switching to immediate applies everything pending: check at once.
    Check(sql);
}

void SequentialRunner::CheckViews(std::vector<const View*> views, const std::string& after) {
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
    std::string report = "sequential mode FAILED (seed " + std::to_string(seed_) +
                         ", after statement #" + std::to_string(stats_.statements) + ")\n" + what +
                         "\n";
    report += "\nlast statements (oldest first):\n" + history_.Recent();
    if (!history_.script_path().empty())
        report +=
            "\nevery statement of this run, as a psql script: " + history_.script_path() + "\n";
    throw StressFailure(report);
}

}  // namespace stress
