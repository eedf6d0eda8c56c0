// The concurrent mode of the stress test (see concurrent.hpp).
#include "concurrent.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "checker.hpp"
#include "dml.hpp"
#include "history.hpp"
#include "pg.hpp"

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

// Most IMMVs join several tables, and a writer locks each IMMV it maintains
// (ExclusiveLock), so units that change tables in different orders deadlock
// often, and a REPEATABLE READ unit fails whenever any other writer of its
// IMMVs commits first. So that no unit starves, every unit holds this
// advisory lock shared, and a unit that failed kAttemptsBeforeRunningAlone
// times takes it exclusively: it runs alone (the scheduler and flushes aside).
const char* const kStarvationLock = "7071";
const int kAttemptsBeforeRunningAlone = 2;

// What the sessions share: the first failure stops them all.
struct SharedState {
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::string failure;

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
          history_(20) {}

    void Run() {
        long units = 0;
        while (stats_.statements < options_.statements_per_session && !shared_.stop) {
            if (rng_.Percent(5)) FlushOne();
            RunUnit(Plan());
            if (++units % kUnitsBetweenChecks == 0) Check();
        }
    }

    const RunStats& stats() const { return stats_; }
    const History& history() const { return history_; }

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

    void RunUnit(const Unit& unit) {
        for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
            const std::string lock =
                attempt > kAttemptsBeforeRunningAlone
                    ? std::string("pg_advisory_lock(") + kStarvationLock + ")"
                    : std::string("pg_advisory_lock_shared(") + kStarvationLock + ")";
            Send("SELECT " + lock);
            const Outcome outcome = TryUnit(unit);
            Send("SELECT pg_advisory_un" + lock.substr(std::string("pg_advisory_").size()));
            if (outcome != Outcome::Retry) {
                stats_.statements += static_cast<long>(unit.statements.size());
                if (unit.transaction) {
                    ++stats_.transactions;
                    stats_.in_transactions += static_cast<long>(unit.statements.size());
                    if (!unit.commit || outcome == Outcome::ConstraintViolation)
                        ++stats_.rolled_back;
                }
                return;
            }
            // A random, growing pause: with dozens of IMMVs locked in statement
            // order, two units that keep colliding must stop retrying in step.
            std::this_thread::sleep_for(
                std::chrono::milliseconds(rng_.Below(static_cast<uint64_t>(5 + 10 * attempt))));
        }
        Fail("gave up after " + std::to_string(kMaxAttempts) + " attempts of one unit");
    }

    Outcome TryUnit(const Unit& unit) {
        if (unit.do_block) {
            std::string block = "DO $unit$ BEGIN";
            for (const Statement& statement : unit.statements) block += " " + statement.sql + ";";
            block += " END $unit$";
            SqlResult result = conn_.Exec(block);
            history_.Record(++sent_, block + ";", result.Summary());
            return result.ok ? Outcome::Done : Classify(result);
        }
        if (unit.transaction) Send(unit.begin);
        if (unit.truncates)
            Send(std::string("SELECT pg_advisory_xact_lock(") + kTruncateLock + ")");
        for (const Statement& statement : unit.statements) {
            SqlResult result = statement.IsCopy() ? conn_.Copy(statement.sql, statement.copy_rows)
                                                  : conn_.Exec(statement.sql);
            history_.Record(++sent_, statement.Script(), result.Summary());
            if (result.ok) continue;
            const Outcome outcome = Classify(result);
            if (unit.transaction) Send("ROLLBACK");
            return outcome;
        }
        if (!unit.transaction) return Outcome::Done;
        SqlResult end = conn_.Exec(unit.commit ? "COMMIT" : "ROLLBACK");
        history_.Record(0, unit.commit ? "COMMIT;" : "ROLLBACK;", end.Summary());
        return end.ok ? Outcome::Done : Classify(end);
    }

    // What to do after a failed statement; fails the run on unexpected errors.
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
            ++stats_.deadlock_retries;
            return Outcome::Retry;
        }
        if (result.sqlstate == sqlstate::kSerializationFailure) {
            ++stats_.serialization_retries;
            return Outcome::Retry;
        }
        Fail("unexpected error: " + result.Summary());
    }

    // ivmx.flush of a random deferred IMMV in autocommit, racing the writers,
    // the other sessions' flushes and the scheduler. Retried on deadlocks.
    void FlushOne() {
        static const std::vector<const View*> deferred = ViewsInMode(true);
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
                std::vector<Mismatch> mismatches = Verify(conn_, ViewsInMode(false));
                if (!mismatches.empty()) return mismatches;  // explained in this transaction
                Send("COMMIT");
                return mismatches;
            } catch (const DatabaseError& e) {
                Send("ROLLBACK");
                if (e.sqlstate != sqlstate::kDeadlock || attempt == kMaxAttempts) throw;
                ++stats_.deadlock_retries;
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
        const size_t again = Verify(conn_, ViewsInMode(false)).size();
        report +=
            "\nchecked again in a new snapshot: " + std::to_string(again) + " IMMV(s) differ\n";
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
};

void RunSession(Session& session, SharedState& shared) {
    try {
        session.Run();
    } catch (const std::exception& e) {
        shared.Fail(e.what());
    }
}

// The final check, from a fresh session once every writer is done: every
// deferred IMMV flushed (in dependency order), then every IMMV verified.
void CheckAtEnd(const ConcurrentOptions& options, SharedState& shared, RunStats& stats) {
    Connection conn(options.dbname);
    ++stats.checks;
    ++stats.flushes;
    conn.MustExec("SELECT ivmx.flush()");
    std::vector<Mismatch> mismatches = VerifyAll(conn);
    if (mismatches.empty()) return;
    std::string report = "IMMV mismatch after all sessions finished and SELECT ivmx.flush()\n";
    for (const Mismatch& m : mismatches) report += "\n" + ExplainMismatch(conn, m);
    shared.Fail(report);
}

std::string FailureReport(const ConcurrentOptions& options, const SharedState& shared,
                          const std::vector<std::unique_ptr<Session>>& sessions) {
    std::string report = "concurrent mode FAILED (seed " + std::to_string(options.seed) + ", " +
                         std::to_string(options.sessions) + " sessions)\n" + shared.failure + "\n";
    for (size_t i = 0; i < sessions.size(); ++i)
        report += "\nlast statements of session " + std::to_string(i + 1) + " (oldest first):\n" +
                  sessions[i]->history().Recent();
    return report;
}

}  // namespace

RunStats RunConcurrent(const ConcurrentOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    SharedState shared;
    std::vector<std::unique_ptr<Session>> sessions;
    for (int i = 0; i < options.sessions; ++i)
        sessions.push_back(std::make_unique<Session>(options, i, shared));
    std::vector<std::thread> threads;
    for (auto& session : sessions)
        threads.emplace_back(RunSession, std::ref(*session), std::ref(shared));
    for (std::thread& thread : threads) thread.join();

    RunStats stats;
    for (const auto& session : sessions) stats.Add(session->stats());
    if (shared.failure.empty()) CheckAtEnd(options, shared, stats);
    if (!shared.failure.empty()) throw StressFailure(FailureReport(options, shared, sessions));
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
}

}  // namespace stress
