// What the stress runners count, and how they report a failure.
#pragma once

#include <stdexcept>
#include <string>

namespace stress {

struct RunStats {
    long statements = 0;              // data-changing statements that ran to completion
    long in_transactions = 0;         // ... of which inside explicit transaction blocks
    long transactions = 0;            // explicit transaction blocks
    long rolled_back = 0;             // ... ended by ROLLBACK (planned or after an error)
    long savepoint_rollbacks = 0;     // ROLLBACK TO SAVEPOINT
    long unique_violations = 0;       // statements that failed as the generator allows
    long foreign_key_violations = 0;  // ... (a t_fk row whose parent is gone)
    long deadlock_retries = 0;
    long deadlocks_workload = 0;     // concurrent: ... of which the workload's own (base tables)
    long deadlocks_maintenance = 0;  // ... caused by maintenance (fail the run)
    long deadlocks_operation = 0;    // ... with a set_mode, flush or check in the cycle
    long serialization_retries = 0;
    long checks = 0;              // rounds of verify_immv over every IMMV
    long flushes = 0;             // ivmx.flush calls, each followed by a check of what it refreshed
    long mode_switches = 0;       // ivmx.set_mode calls (concurrent mode: committed ones)
    long chain_switches = 0;      // switches of both levels of a nested pair, close together
    long switch_checks = 0;       // verify_immv right after a switch to immediate, same transaction
    long switch_retries = 0;      // mode-switch units retried after a conflict
    long lock_timeouts = 0;       // ... of which after lock_timeout (55P03)
    long batch_rows_changes = 0;  // ALTER SYSTEM SET ivmx.max_batch_rows
    long ratio_changes = 0;       // ivmx.full_refresh_ratio set to 0 or back to its default
    long side_transactions = 0;   // sequential: transactions of the second session
    long drains = 0;              // ... backlogs the scheduler drained, then checked
    long drain_timeouts = 0;      // ... flushed instead (the scheduler was too slow)
    double drain_seconds = 0;     // ... waiting for the scheduler
    double seconds = 0;
    // Non-empty: the run failed although it went through (the report to
    // print after the summary line).
    std::string failure_after_summary;

    void Add(const RunStats& o) {
        statements += o.statements;
        in_transactions += o.in_transactions;
        transactions += o.transactions;
        rolled_back += o.rolled_back;
        savepoint_rollbacks += o.savepoint_rollbacks;
        unique_violations += o.unique_violations;
        foreign_key_violations += o.foreign_key_violations;
        deadlock_retries += o.deadlock_retries;
        deadlocks_workload += o.deadlocks_workload;
        deadlocks_maintenance += o.deadlocks_maintenance;
        deadlocks_operation += o.deadlocks_operation;
        serialization_retries += o.serialization_retries;
        checks += o.checks;
        flushes += o.flushes;
        mode_switches += o.mode_switches;
        chain_switches += o.chain_switches;
        switch_checks += o.switch_checks;
        switch_retries += o.switch_retries;
        lock_timeouts += o.lock_timeouts;
        batch_rows_changes += o.batch_rows_changes;
        ratio_changes += o.ratio_changes;
        side_transactions += o.side_transactions;
        drains += o.drains;
        drain_timeouts += o.drain_timeouts;
        drain_seconds += o.drain_seconds;
        failure_after_summary += o.failure_after_summary;
    }
};

// A mismatch or an unexpected error, with the full report to print.
class StressFailure : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace stress
