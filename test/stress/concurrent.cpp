// The concurrent mode of the stress test (see concurrent.hpp).
#include "concurrent.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "checker.hpp"
#include "deadlocks.hpp"
#include "dml.hpp"
#include "history.hpp"
#include "pg.hpp"
#include "server_settings.hpp"

namespace stress {

namespace {

const int kMaxAttempts = 100;
const int kUnitsBetweenChecks = 8;

// TRUNCATE is not MVCC-safe: a reader whose snapshot predates it sees the
// truncated tables (base and IMMV) empty, whatever they held in its snapshot.
// So that checks only see states PostgreSQL itself keeps consistent, a unit
// that truncates holds this advisory lock exclusively, and a check holds it
// shared before it takes its snapshot.
const char* const kTruncateLock = "7070";

// Units that change the same rows in different orders deadlock, and a
// REPEATABLE READ unit fails whenever another writer of its rows (or of the
// IMMV rows its changes reach) commits first. So that no unit starves, every
// unit holds this advisory lock shared, and a unit that failed
// kAttemptsBeforeRunningAlone times takes it exclusively: it runs alone (the
// scheduler and flushes aside).
const char* const kStarvationLock = "7071";
const int kAttemptsBeforeRunningAlone = 2;

// The sessions' deadlock_timeout: a scheduler checks for deadlocks after a
// tenth of the server's (100 ms by default), and gives way in a deadlock with
// a session only if the session does not check first (the connection's 20 ms
// would make a flush or a TRUNCATE the victim of the scheduler).
const char* const kSessionDeadlockTimeout = "200ms";

// One session (the first) changes ivmx.max_batch_rows (and
// ivmx.full_refresh_ratio) before this share of its units; another (the
// second, if there is one) switches IMMVs between modes before this share.
const int kSettingsPercent = 3;
const int kSwitchPercent = 6;
// A mode switch waits at most this long for a lock, then it is retried.
const char* const kSwitchLockTimeout = "1s";
// Mode switches listed in a failure report.
const size_t kSwitchLogShown = 40;

// Checked by every session during the run: the IMMVs created immediate
// whose mode never changes. (Nested IMMVs may be deferred at any moment; the
// switching session checks those it knows to be immediate.)
const std::vector<const View*>& CheckedBySessions() {
    static const std::vector<const View*> views = [] {
        std::vector<const View*> out;
        for (const View* view : ViewsInMode(false))
            if (!IsNested(*view)) out.push_back(view);
        return out;
    }();
    return views;
}

// What the sessions share: the first failure stops them all.
struct SharedState {
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::string failure;
    const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    // The settings the run starts with (chosen from the seed).
    int batch_rows = 0;
    bool ratio_zero = false;
    // Tells the deadlocks the sessions get apart by cause.
    DeadlockClassifier* deadlocks = nullptr;

    double Elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }

    void Fail(const std::string& report) {
        std::lock_guard<std::mutex> lock(mutex);
        if (failure.empty()) failure = report;
        stop = true;
    }
};

// A transaction (or a single autocommit statement) planned before it runs,
// so that a retry sends exactly the same statements.
struct Unit {
    std::vector<Statement> statements;
    bool transaction = false;
    std::string begin = "BEGIN";
    bool commit = true;
    bool truncates = false;  // holds kTruncateLock exclusively
    // The statements run as one DO block in autocommit (a transaction of
    // several writes that is not a transaction block).
    bool do_block = false;
    // A unit of mode switches (ivmx.set_mode calls, perhaps with writes): its
    // lock waits are bounded by kSwitchLockTimeout, and a lock timeout is
    // retried like a deadlock.
    bool switches = false;
    long mode_calls = 0;  // statements that are ivmx.set_mode calls
    // Per statement, the IMMV it switched to immediate, verified right after
    // it in the same transaction (it holds the IMMV's inputs locked: the IMMV
    // must equal its query then); null for none.
    std::vector<const View*> check_after = {};
};

// ConstraintViolation: a unique or foreign key violation the generator allows;
// the unit ends (rolled back) and is not retried.
enum class Outcome { Done, ConstraintViolation, Retry };

class Session {
  public:
    Session(const ConcurrentOptions& options, int index, SharedState& shared)
        : options_(options),
          index_(index),
          shared_(shared),
          conn_(options.dbname),
          rng_(Rng::ForStream(options.seed, 1000 + index)),
          dml_(rng_, index, options.sessions + 1, Weights()),
          history_(20),
          tunes_settings_(index == 0),
          switches_modes_(index == (options.sessions > 1 ? 1 : 0)),
          batch_rows_(shared.batch_rows),
          ratio_zero_(shared.ratio_zero) {
        for (const View* view : SwitchableViews()) deferred_[view] = view->deferred;
        conn_.MustExec(std::string("SET deadlock_timeout = '") + kSessionDeadlockTimeout + "'");
        shared_.deadlocks->AddSession(index_, std::stoi(conn_.Scalar("SELECT pg_backend_pid()")));
        conn_.OnSend([this](const std::string& sql) { shared_.deadlocks->Sent(index_, activity_, sql); });
    }

    void Run() {
        long units = 0;
        while (stats_.statements < options_.statements_per_session && !shared_.stop) {
            if (tunes_settings_ && rng_.Percent(kSettingsPercent)) {
                activity_ = Activity::Settings;
                ChangeSettings();
            }
            if (switches_modes_ && rng_.Percent(kSwitchPercent)) {
                activity_ = Activity::Switch;
                SwitchModes();
            }
            if (rng_.Percent(5)) {
                activity_ = Activity::Flush;
                FlushOne();
            }
            activity_ = Activity::Write;
            RunUnit(Plan());
            if (++units % kUnitsBetweenChecks == 0) {
                activity_ = Activity::Check;
                Check();
            }
        }
    }

    const RunStats& stats() const { return stats_; }
    const History& history() const { return history_; }
    // The mode switches this session committed, oldest first (empty but for
    // the switching session).
    const std::vector<std::string>& switch_log() const { return switch_log_; }

    // After a failure: ends the session's transaction and releases its
    // advisory locks, so that the other sessions finish their units rather
    // than wait for them. Best effort.
    void ReleaseLocks() {
        try {
            conn_.Exec("ROLLBACK");
            conn_.Exec("SELECT pg_advisory_unlock_all()");
        } catch (const std::exception&) {
        }
    }

  private:
    // TRUNCATE takes an exclusive lock on the table: keep it rare here.
    static DmlWeights Weights() {
        DmlWeights weights;
        weights.truncate_per_mille = 1;
        return weights;
    }

    Unit Plan() {
        Unit unit;
        unit.transaction = rng_.Percent(35);
        const int count = unit.transaction ? rng_.Between(2, 5) : 1;
        for (int i = 0; i < count; ++i) {
            unit.statements.push_back(dml_.Next());
            unit.truncates = unit.truncates || unit.statements.back().IsTruncate();
        }
        if (rng_.Percent(10)) unit.begin = "BEGIN ISOLATION LEVEL REPEATABLE READ";
        unit.commit = rng_.Percent(85);
        unit.transaction = unit.transaction || unit.truncates;
        bool has_copy = false;
        for (const Statement& statement : unit.statements) has_copy = has_copy || statement.IsCopy();
        if (unit.transaction && !unit.truncates && !has_copy && rng_.Percent(30)) {
            unit.do_block = true;
            unit.commit = true;
        }
        return unit;
    }

    // Done or ConstraintViolation (a unit that failed as the generator allows).
    Outcome RunUnit(const Unit& unit) {
        for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
            const std::string lock = attempt > kAttemptsBeforeRunningAlone
                                         ? std::string("pg_advisory_lock(") + kStarvationLock + ")"
                                         : std::string("pg_advisory_lock_shared(") + kStarvationLock + ")";
            Send("SELECT " + lock);
            const Outcome outcome = TryUnit(unit);
            Send("SELECT pg_advisory_un" + lock.substr(std::string("pg_advisory_").size()));
            if (outcome != Outcome::Retry) {
                const long writes = static_cast<long>(unit.statements.size()) - unit.mode_calls;
                stats_.statements += writes;
                if (unit.transaction) {
                    ++stats_.transactions;
                    stats_.in_transactions += writes;
                    if (!unit.commit || outcome == Outcome::ConstraintViolation) ++stats_.rolled_back;
                }
                return outcome;
            }
            if (unit.switches) ++stats_.switch_retries;
            // A random, growing pause: with dozens of IMMVs locked in statement
            // order, two units that keep colliding must stop retrying in step.
            std::this_thread::sleep_for(std::chrono::milliseconds(rng_.Below(static_cast<uint64_t>(5 + 10 * attempt))));
        }
        Fail("gave up after " + std::to_string(kMaxAttempts) + " attempts of one unit");
    }

    Outcome TryUnit(const Unit& unit) {
        if (unit.do_block) {
            std::string block = "DO $unit$ BEGIN";
            if (unit.switches)
                block += std::string(" PERFORM set_config('lock_timeout', '") + kSwitchLockTimeout + "', true);";
            for (const Statement& statement : unit.statements) {
                // A function call's result goes nowhere in PL/pgSQL.
                const bool call = statement.sql.compare(0, 7, "SELECT ") == 0;
                block += " " + (call ? "PERFORM " + statement.sql.substr(7) : statement.sql) + ";";
            }
            block += " END $unit$";
            SqlResult result = conn_.Exec(block);
            history_.Record(++sent_, block + ";", result.Summary());
            return result.ok ? Outcome::Done : Classify(result, unit);
        }
        if (unit.transaction) Send(unit.begin);
        if (unit.switches) Send(std::string("SET LOCAL lock_timeout = '") + kSwitchLockTimeout + "'");
        if (unit.truncates) Send(std::string("SELECT pg_advisory_xact_lock(") + kTruncateLock + ")");
        for (size_t i = 0; i < unit.statements.size(); ++i) {
            const Statement& statement = unit.statements[i];
            SqlResult result =
                statement.IsCopy() ? conn_.Copy(statement.sql, statement.copy_rows) : conn_.Exec(statement.sql);
            history_.Record(++sent_, statement.Script(), result.Summary());
            if (result.ok && i < unit.check_after.size() && unit.check_after[i] != nullptr)
                result = VerifySwitched(*unit.check_after[i], statement.sql);
            if (result.ok) continue;
            const Outcome outcome = Classify(result, unit);
            if (unit.transaction) Send("ROLLBACK");
            return outcome;
        }
        if (!unit.transaction) return Outcome::Done;
        SqlResult end = conn_.Exec(unit.commit ? "COMMIT" : "ROLLBACK");
        history_.Record(0, unit.commit ? "COMMIT;" : "ROLLBACK;", end.Summary());
        return end.ok ? Outcome::Done : Classify(end, unit);
    }

    // verify_immv of an IMMV that `switch_sql`, the transaction's last
    // statement, switched to immediate. Fails the run (after explaining the
    // difference in the same transaction) unless the IMMV equals its query;
    // a failure of the verification itself is returned.
    SqlResult VerifySwitched(const View& view, const std::string& switch_sql) {
        const std::string sql = "SELECT ivmx.verify_immv(" + Quote(view.name) + ")";
        SqlResult result = conn_.Exec(sql);
        const std::string differing = result.ok && !result.rows.empty() ? result.rows[0][0].value_or("NULL") : "";
        history_.Record(0, sql + ";", result.ok ? "ok: " + differing : result.Summary());
        if (!result.ok) return result;
        ++stats_.switch_checks;
        if (differing == "0") return result;
        std::string report = "IMMV mismatch right after " + switch_sql +
                             ", in the same transaction (which holds the IMMV's inputs locked)\n";
        report += "\n" + ExplainMismatch(conn_, {&view, std::stol(differing)});
        Send("ROLLBACK");
        Fail(report);
    }

    // What to do after a failed statement; fails the run on unexpected errors.
    // A lock timeout is expected in a unit of mode switches only.
    Outcome Classify(const SqlResult& result, const Unit& unit) {
        if (unit.switches && result.sqlstate == sqlstate::kLockNotAvailable) {
            ++stats_.lock_timeouts;
            return Outcome::Retry;
        }
        return Classify(result);
    }

    Outcome Classify(const SqlResult& result) {
        if (result.sqlstate == sqlstate::kUniqueViolation) {
            ++stats_.unique_violations;
            return Outcome::ConstraintViolation;
        }
        if (result.sqlstate == sqlstate::kForeignKeyViolation) {
            ++stats_.foreign_key_violations;
            return Outcome::ConstraintViolation;
        }
        if (result.sqlstate == sqlstate::kDeadlock) {
            CountDeadlock(result.detail, result.context);
            return Outcome::Retry;
        }
        if (result.sqlstate == sqlstate::kSerializationFailure) {
            ++stats_.serialization_retries;
            return Outcome::Retry;
        }
        Fail("unexpected error: " + result.Summary());
    }

    // A deadlock this session got (and retries), counted by its cause; one
    // caused by maintenance fails the run when it ends.
    void CountDeadlock(const std::string& detail, const std::string& context) {
        ++stats_.deadlock_retries;
        switch (shared_.deadlocks->Classify(index_, detail, context)) {
            case DeadlockCause::Workload:
                ++stats_.deadlocks_workload;
                break;
            case DeadlockCause::Maintenance:
                ++stats_.deadlocks_maintenance;
                break;
            case DeadlockCause::Operation:
                ++stats_.deadlocks_operation;
                break;
        }
    }

    // ivmx.flush of a random deferred (or nested) IMMV in autocommit, racing
    // the writers, the other sessions' flushes and the scheduler. Retried on
    // deadlocks. The IMMV may be in immediate mode by now (nothing to do).
    void FlushOne() {
        static const std::vector<const View*> deferred = SwitchableViews();
        if (deferred.empty()) return;
        const std::string sql = "SELECT ivmx.flush(" + Quote(rng_.Pick(deferred)->name) + ")";
        for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
            SqlResult result = conn_.Exec(sql);
            history_.Record(0, sql + ";", result.Summary());
            if (result.ok) {
                ++stats_.flushes;
                return;
            }
            if (Classify(result) != Outcome::Retry) Fail(sql + " failed: " + result.Summary());
        }
        Fail("gave up after " + std::to_string(kMaxAttempts) + " attempts of " + sql);
    }

    // ALTER SYSTEM SET ivmx.max_batch_rows to another small value, or
    // ivmx.full_refresh_ratio to 0 or back to its default, and reload, while
    // the other sessions write and the scheduler refreshes.
    void ChangeSettings() {
        std::string name, value;
        if (rng_.Percent(75)) {
            batch_rows_ = PickBatchRows(rng_, batch_rows_);
            name = kMaxBatchRows;
            value = std::to_string(batch_rows_);
            ++stats_.batch_rows_changes;
        } else {
            ratio_zero_ = !ratio_zero_;
            name = kFullRefreshRatio;
            value = ratio_zero_ ? "0" : "";
            ++stats_.ratio_changes;
        }
        for (const std::string& sql : ChangeSettingSql(name, value)) Send(sql);
        if (!AwaitSetting(conn_, name, value))
            Fail("the session did not see " + name + " = '" + value + "' after pg_reload_conf()");
    }

    // ivmx.set_mode on a random switchable IMMV, or on both levels of a
    // nested pair close together (in one transaction, or one right after the
    // other), while the other sessions write.
    void SwitchModes() {
        if (rng_.Percent(40)) {
            const auto link = rng_.Pick(NestedLinks());
            const bool upstream_first = rng_.Percent(50);
            const View* first = upstream_first ? link.first : link.second;
            const View* second = upstream_first ? link.second : link.first;
            ++stats_.chain_switches;
            if (rng_.Percent(40)) {
                SwitchUnit({first, second});
                return;
            }
            SwitchUnit({first});
            std::this_thread::sleep_for(std::chrono::milliseconds(rng_.Below(30)));
            SwitchUnit({second});
            return;
        }
        SwitchUnit({rng_.Pick(SwitchableViews())});
    }

    // One transaction switching each of `views` to its other mode, with now
    // and then a write before or after a switch, committed or (sometimes)
    // rolled back; or the same as a DO block. A transaction that changed a
    // table cannot switch an IMMV over it to deferred (55000), so writes come
    // only after the last switch to deferred.
    void SwitchUnit(std::vector<const View*> views) {
        // Switching an IMMV to immediate brings it up to date: a write of a
        // table its readers read. Its reader then goes to deferred first.
        if (views.size() == 2 && deferred_.at(views[0]) && !deferred_.at(views[1]) &&
            std::count(views[1]->reads.begin(), views[1]->reads.end(), views[0]->name) > 0)
            std::swap(views[0], views[1]);
        Unit unit;
        unit.transaction = true;
        unit.switches = true;
        auto add_write = [&] {
            unit.statements.push_back(dml_.Next());
            unit.check_after.push_back(nullptr);
            unit.truncates = unit.truncates || unit.statements.back().IsTruncate();
        };
        size_t last_to_deferred = 0;  // 1 + index in `views`; 0: none
        for (size_t i = 0; i < views.size(); ++i)
            if (!deferred_.at(views[i])) last_to_deferred = i + 1;
        if (last_to_deferred == 0 && rng_.Percent(20)) add_write();
        std::string what;
        for (size_t i = 0; i < views.size(); ++i) {
            const View* view = views[i];
            const bool to_deferred = !deferred_.at(view);
            const std::string mode = to_deferred ? "deferred" : "immediate";
            unit.statements.push_back({"SELECT ivmx.set_mode(" + Quote(view->name) + ", '" + mode + "')"});
            unit.check_after.push_back(to_deferred ? nullptr : view);
            ++unit.mode_calls;
            what += (what.empty() ? "" : ", then ") + view->name + " to " + mode;
            if (i + 1 >= last_to_deferred && rng_.Percent(15)) add_write();
        }
        unit.commit = rng_.Percent(90);
        bool has_copy = false;
        for (const Statement& statement : unit.statements) has_copy = has_copy || statement.IsCopy();
        if (!unit.truncates && !has_copy && rng_.Percent(20)) {
            unit.do_block = true;
            unit.commit = true;
        }
        const double started = shared_.Elapsed();
        const Outcome outcome = RunUnit(unit);
        if (outcome != Outcome::Done || !unit.commit) return;
        for (const View* view : views) {
            deferred_[view] = !deferred_[view];
            ++stats_.mode_switches;
        }
        char when[64];
        std::snprintf(when, sizeof when, "%.2f s - %.2f s: ", started, shared_.Elapsed());
        const long writes = static_cast<long>(unit.statements.size()) - unit.mode_calls;
        const std::string with = writes > 0 ? " with " + std::to_string(writes) + " write(s))" : ")";
        const std::string how = unit.do_block ? " (DO block" : " (transaction";
        switch_log_.push_back(when + what + how + with);
    }

    // What Check verifies: CheckedBySessions(), and for the switching
    // session the switchable IMMVs it left in immediate mode.
    std::vector<const View*> CheckedNow() const {
        std::vector<const View*> views = CheckedBySessions();
        if (!switches_modes_) return views;
        for (const View* view : SwitchableViews())
            if (!deferred_.at(view)) views.push_back(view);
        return views;
    }

    void Send(const std::string& sql) {
        SqlResult result = conn_.Exec(sql);
        history_.Record(0, sql + ";", result.Summary());
        if (!result.ok) Fail(sql + " failed: " + result.Summary());
    }

    // Verifies every IMMV in one READ COMMITTED transaction that first waits
    // for any TRUNCATE to end (kTruncateLock). A deadlock is retried.
    std::vector<Mismatch> VerifyOutsideTruncates() {
        for (int attempt = 1;; ++attempt) {
            Send("BEGIN ISOLATION LEVEL READ COMMITTED");
            Send(std::string("SELECT pg_advisory_xact_lock_shared(") + kTruncateLock + ")");
            try {
                // Deferred IMMVs lag by design; they are checked after the final flush.
                std::vector<Mismatch> mismatches = Verify(conn_, CheckedNow());
                if (!mismatches.empty()) return mismatches;  // explained in this transaction
                Send("COMMIT");
                return mismatches;
            } catch (const DatabaseError& e) {
                Send("ROLLBACK");
                if (e.sqlstate != sqlstate::kDeadlock || attempt == kMaxAttempts) throw;
                CountDeadlock(e.detail, e.context);
            }
        }
    }

    void Check() {
        ++stats_.checks;
        std::vector<Mismatch> mismatches = VerifyOutsideTruncates();
        if (mismatches.empty()) return;
        std::string report = "IMMV mismatch seen by a session between its transactions\n";
        for (const Mismatch& m : mismatches) report += "\n" + ExplainMismatch(conn_, m);
        Send("ROLLBACK");
        const size_t again = Verify(conn_, CheckedNow()).size();
        report += "\nchecked again in a new snapshot: " + std::to_string(again) + " IMMV(s) differ\n";
        Fail(report);
    }

    [[noreturn]] void Fail(const std::string& what) {
        throw StressFailure("session " + std::to_string(index_ + 1) + ": " + what);
    }

    const ConcurrentOptions& options_;
    int index_;
    SharedState& shared_;
    Connection conn_;
    Rng rng_;
    DmlGenerator dml_;
    History history_;
    RunStats stats_;
    long sent_ = 0;
    const bool tunes_settings_;             // changes ivmx.max_batch_rows / full_refresh_ratio
    const bool switches_modes_;             // calls ivmx.set_mode
    int batch_rows_;                        // ivmx.max_batch_rows set last
    bool ratio_zero_;                       // ivmx.full_refresh_ratio = 0 (else its default)
    std::map<const View*, bool> deferred_;  // modes of SwitchableViews(), as committed
    std::vector<std::string> switch_log_;
    Activity activity_ = Activity::Write;  // what the statements sent now belong to
};

void RunSession(Session& session, SharedState& shared) {
    try {
        session.Run();
    } catch (const std::exception& e) {
        shared.Fail(e.what());
        session.ReleaseLocks();
    }
}

// The IMMVs whose mode in the catalog differs from the one they were created in.
std::vector<const View*> SwitchedViews(Connection& conn) {
    std::vector<const View*> out;
    for (const Row& row : conn.MustExec("SELECT immvname, mode FROM ivmx.immvs").rows) {
        const View& view = ViewNamed(row.at(0).value_or(""));
        if ((row.at(1).value_or("") == "deferred") != view.deferred) out.push_back(&view);
    }
    return out;
}

// "nest_b1 (immediate), nest_a3 (deferred)": the IMMVs with their other mode.
std::string Describe(const std::vector<const View*>& switched) {
    std::string out;
    for (const View* view : switched)
        out += (out.empty() ? "" : ", ") + view->name + " (" + (view->deferred ? "immediate" : "deferred") + ")";
    return out.empty() ? "none" : out;
}

// SELECT ivmx.flush(), then verify_immv of every IMMV; false (and the run
// failed) on a difference.
bool FlushAndVerifyAll(Connection& conn, const std::string& after, SharedState& shared, RunStats& stats) {
    ++stats.checks;
    ++stats.flushes;
    conn.MustExec("SELECT ivmx.flush()");
    std::vector<Mismatch> mismatches = VerifyAll(conn);
    if (mismatches.empty()) return true;
    std::string report = "IMMV mismatch " + after + "\n";
    for (const Mismatch& m : mismatches) report += "\n" + ExplainMismatch(conn, m);
    shared.Fail(report);
    return false;
}

// The final check, from a fresh session once every writer is done: every
// deferred IMMV flushed (in dependency order), then every IMMV verified, in
// the modes the run left them in; then every IMMV switched back to the mode
// it was created in, flushed and verified again.
void CheckAtEnd(const ConcurrentOptions& options, SharedState& shared, RunStats& stats) {
    Connection conn(options.dbname);
    const std::vector<const View*> switched = SwitchedViews(conn);
    if (!FlushAndVerifyAll(conn,
                           "after all sessions finished and SELECT ivmx.flush(), with these IMMVs "
                           "in the other mode than created: " +
                               Describe(switched),
                           shared, stats))
        return;
    if (switched.empty()) return;
    for (const View* view : switched)
        conn.MustExec("SELECT ivmx.set_mode(" + Quote(view->name) + ", '" +
                      (view->deferred ? "deferred" : "immediate") + "')");
    FlushAndVerifyAll(
        conn, "after switching " + Describe(switched) + " back to the mode it was created in, and SELECT ivmx.flush()",
        shared, stats);
}

std::string FailureReport(const ConcurrentOptions& options, const SharedState& shared,
                          const std::vector<std::unique_ptr<Session>>& sessions) {
    std::string report = "concurrent mode FAILED (seed " + std::to_string(options.seed) + ", " +
                         std::to_string(options.sessions) + " sessions, max_batch_rows " +
                         std::to_string(shared.batch_rows) + " first" +
                         (shared.ratio_zero ? ", full_refresh_ratio 0 first" : "") + ")\n" + shared.failure + "\n";
    report += "\ndeadlocks so far: " + shared.deadlocks->Counts() + "\n";
    if (shared.deadlocks->Count(DeadlockCause::Maintenance) > 0) report += shared.deadlocks->MaintenanceReport();
    for (size_t i = 0; i < sessions.size(); ++i) {
        const std::vector<std::string>& log = sessions[i]->switch_log();
        if (log.empty()) continue;
        report += "\nmode switches committed by session " + std::to_string(i + 1) +
                  " (seconds into the run, oldest first):\n";
        const size_t first = log.size() > kSwitchLogShown ? log.size() - kSwitchLogShown : 0;
        if (first > 0) report += "  ... " + std::to_string(first) + " earlier\n";
        for (size_t j = first; j < log.size(); ++j) report += "  " + log[j] + "\n";
    }
    for (size_t i = 0; i < sessions.size(); ++i)
        report += "\nlast statements of session " + std::to_string(i + 1) + " (oldest first):\n" +
                  sessions[i]->history().Recent();
    return report;
}

}  // namespace

RunStats RunConcurrent(const ConcurrentOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    SharedState shared;
    // Small batches from the start (the first session changes them later).
    Rng rng = Rng::ForStream(options.seed, 3);
    shared.batch_rows = PickBatchRows(rng, 0);
    shared.ratio_zero = rng.Percent(50);
    {
        Connection conn(options.dbname);
        for (const std::string& sql : ChangeSettingSql(kMaxBatchRows, std::to_string(shared.batch_rows)))
            conn.MustExec(sql);
        if (shared.ratio_zero)
            for (const std::string& sql : ChangeSettingSql(kFullRefreshRatio, "0")) conn.MustExec(sql);
    }
    DeadlockClassifier deadlocks(options.dbname, options.deadlock_log);
    shared.deadlocks = &deadlocks;
    std::vector<std::unique_ptr<Session>> sessions;
    for (int i = 0; i < options.sessions; ++i) sessions.push_back(std::make_unique<Session>(options, i, shared));
    std::vector<std::thread> threads;
    for (auto& session : sessions) threads.emplace_back(RunSession, std::ref(*session), std::ref(shared));
    for (std::thread& thread : threads) thread.join();

    RunStats stats;
    for (const auto& session : sessions) stats.Add(session->stats());
    if (shared.failure.empty()) CheckAtEnd(options, shared, stats);
    if (!shared.failure.empty()) throw StressFailure(FailureReport(options, shared, sessions));
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Every IMMV was right: the run still fails if maintenance caused a deadlock.
    if (deadlocks.Count(DeadlockCause::Maintenance) > 0)
        stats.failure_after_summary = "concurrent mode FAILED (seed " + std::to_string(options.seed) + ", " +
                                      std::to_string(options.sessions) + " sessions): " + deadlocks.FirstMaintenance() +
                                      "\ndeadlocks: " + deadlocks.Counts() + "\n" + deadlocks.MaintenanceReport();
    return stats;
}

}  // namespace stress
