// The sequential mode of the stress test (see sequential.hpp).
#include "sequential.hpp"

#include <chrono>

#include "checker.hpp"

namespace stress {

SequentialRunner::SequentialRunner(Connection& conn, Rng& rng, DmlGenerator& dml, History& history,
                                   uint64_t seed)
    : conn_(conn), rng_(rng), dml_(dml), history_(history), seed_(seed) {}

RunStats SequentialRunner::Run(long budget) {
    const auto start = std::chrono::steady_clock::now();
    Check("setup");
    while (stats_.statements < budget) {
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
    Control("BEGIN" + rng_.Pick(isolation));
    ++stats_.transactions;
    savepoints_ = 0;
    const int steps = rng_.Between(2, 8);
    for (int step = 0; step < steps && stats_.statements < budget; ++step) {
        switch (rng_.Weighted({70, 12, 10, 8})) {
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
            default:
                if (savepoints_ > 0) {
                    const int depth = rng_.Between(1, savepoints_);
                    Control("RELEASE SAVEPOINT sp" + std::to_string(depth));
                    savepoints_ = depth - 1;
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
    Fail("statement #" + std::to_string(number) + " failed: " + result.Summary());
}

void SequentialRunner::Control(const std::string& sql) {
    SqlResult result = conn_.Exec(sql);
    history_.Record(0, sql + ";", result.Summary());
    if (!result.ok) Fail(sql + " failed: " + result.Summary());
}

void SequentialRunner::Check(const std::string& after) {
    ++stats_.checks;
    std::vector<Mismatch> mismatches;
    try {
        mismatches = VerifyAll(conn_);
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
