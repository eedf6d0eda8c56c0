// Who caused a deadlock the concurrent mode's sessions ran into.
//
// PostgreSQL reports a deadlock (40P01) to one process of the cycle only,
// the victim, whose DETAIL lists every process of the cycle and what it
// waited for:
//   Process 123 waits for ShareLock on transaction 456; blocked by process 789.
//   Process 789 waits for ExclusiveLock on relation 16601 of database 16384; blocked by process 123.
// (The statements of the processes go to the server log only, and not even
// there when the victim was inside pg_ivmx's code.) The classifier reads the
// DETAIL and the victim's CONTEXT, and names each process of the cycle: a
// session of the run, with the statement it had sent last before the victim
// got the error, or another process (a pg_ivmx scheduler). A deadlock is
//   * one with a maintenance operation when a process of the cycle runs one
//     of the run's own calls of pg_ivmx's functions (ivmx.set_mode,
//     ivmx.flush, ivmx.verify_immv: a unit of mode switches, a flush or a
//     check), which the run retries and counts;
//   * else caused by maintenance when a process waited for an IMMV or a
//     relation of schema ivmx (or its tuple, or one that no longer exists:
//     the workload creates and drops none), for an object lock of class
//     ivmx.immv (the writers' mode and turn locks), or at COMMIT / END /
//     PREPARE TRANSACTION (where only pre-commit maintenance waits), when a
//     process is a pg_ivmx scheduler (or is not a session and has ended:
//     only sessions and schedulers work in the database), or when the
//     victim's CONTEXT shows a maintenance statement (an IMMV's name or an
//     __ivm identifier);
//   * else the workload's own (base tables' relation, tuple and transaction
//     locks, and advisory locks, taken by the sessions' own statements).
// A cycle whose only maintenance waits are row locks of a process other
// than the victim that is not at COMMIT (a lone autocommit statement
// applying its change) cannot be told from the workload's own.
#pragma once

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "pg.hpp"

namespace stress {

enum class DeadlockCause { Workload, Maintenance, Operation };

// What a session's statements belong to.
enum class Activity { Write, Switch, Flush, Check, Settings };

class DeadlockClassifier {
  public:
    // Connects to `dbname` (a control connection of its own). With a
    // `log_path`, writes every deadlock there as it is classified.
    DeadlockClassifier(const std::string& dbname, const std::string& log_path);

    // Session `index` runs in backend `pid`.
    void AddSession(int index, int pid);

    // Session `index` is about to send `sql` for `activity`. Thread-safe.
    void Sent(int index, Activity activity, const std::string& sql);

    // Classifies the deadlock error (its DETAIL and CONTEXT) that session
    // `index` has just received for the statement it sent last, and records
    // it. Thread-safe.
    DeadlockCause Classify(int index, const std::string& detail, const std::string& context);

    long Count(DeadlockCause cause) const;
    // "3 deadlocks caused by maintenance; the first one's DETAIL:" and the
    // DETAIL (names added).
    std::string FirstMaintenance() const;
    // The deadlocks caused by maintenance: how many of each kind (the locks
    // waited for), then the first few in full.
    std::string MaintenanceReport() const;
    // "12 of the workload's own, 0 caused by maintenance, 3 with a maintenance operation".
    std::string Counts() const;

  private:
    struct Sending {
        std::chrono::steady_clock::time_point at;
        Activity activity;
        std::string sql;
    };
    struct Relation {
        bool found = false;
        std::string schema, name;
        bool immv = false;
    };
    struct Process {
        std::string label;  // "session 2" or "a pg_ivmx scheduler"
        bool session = false;
        int index = -1;                    // the session's
        const Sending* sending = nullptr;  // the session's statement in flight
        std::string backend_type, query;   // for other processes
        bool gone = false;                 // not a session, and ended since
    };

    Relation LookUp(unsigned long oid);
    Process Describe(int pid, const std::map<int, Sending>& last);

    const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    mutable std::mutex sent_mutex_;             // guards session_pids_, sent_
    std::map<int, int> session_pids_;           // pid -> session index
    std::map<int, std::vector<Sending>> sent_;  // per session, the latest few, oldest first

    mutable std::mutex mutex_;  // guards the rest
    Connection conn_;
    std::ofstream log_;
    std::string database_oid_;
    std::string immv_class_oid_;
    std::map<unsigned long, Relation> relations_;
    long counts_[3] = {0, 0, 0};
    std::map<std::string, long> maintenance_kinds_;
    std::vector<std::string> maintenance_reports_;  // the first few
    std::string first_maintenance_detail_;
};

}  // namespace stress
