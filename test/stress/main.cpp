// ivmx_stress: the randomized differential test of pg_ivmx.
//
// Creates a fresh database with tables and IMMVs of every shape, runs random
// data-changing statements against them and checks after each one that every
// IMMV equals its defining query (ivmx.verify_immv). First one session alone
// (sequential mode, fully reproducible from the seed), then several sessions
// at once (concurrent mode). Both modes set ivmx.max_batch_rows to small
// values and ivmx.full_refresh_ratio to 0 for stretches (cluster-wide, ALTER
// SYSTEM) so that deferred batches are split (the sequential mode also
// switches the scheduler off for short stretches), and reset these settings
// when the mode ends, passed or failed. Exits 0 when everything matched, 1 on a mismatch
// or an unexpected error (after printing a report), 2 on bad usage.
//
// Environment (the server is found through PGHOST/PGPORT/PGUSER):
//   STRESS_SEED         seed of the run (default: random; always printed first)
//   STRESS_STATEMENTS   statements of the sequential mode (default 1000)
//   STRESS_CONCURRENT_STATEMENTS  statements of the concurrent mode, split
//                       among sessions (default 4000)
//   STRESS_SESSIONS     sessions of the concurrent mode (default 4)
//   STRESS_MODE         all (default), sequential or concurrent
//   STRESS_SCRIPT       file to write the sequential mode's statements to, as
//                       a psql script that replays the run (default: none)
//   STRESS_DEADLOCKS    file to write every deadlock of the concurrent mode
//                       to, with its cause and the statements of the cycle
//                       (default: none)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include <unistd.h>

#include "concurrent.hpp"
#include "schema.hpp"
#include "sequential.hpp"
#include "server_settings.hpp"
#include "setup.hpp"

namespace stress {

namespace {

struct Options {
    uint64_t seed = 0;
    long statements = 1000;
    long concurrent_statements = 4000;
    int sessions = 4;
    bool sequential = true;
    bool concurrent = true;
    std::string script;
    std::string deadlock_log;
};

// Database names carry the process id, so that runs sharing a cluster do not collide.
std::string DatabaseName(const char* mode) {
    return std::string("ivmx_stress_") + mode + "_" + std::to_string(getpid());
}

// Reads a whole non-negative number from the environment; exits on garbage.
uint64_t NumberFromEnv(const char* name, uint64_t fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (*end != '\0' || *text == '-') {
        std::fprintf(stderr, "stress: %s must be a non-negative integer, not \"%s\"\n", name, text);
        std::exit(2);
    }
    return value;
}

Options OptionsFromEnv() {
    Options options;
    options.seed = NumberFromEnv("STRESS_SEED", std::random_device{}() % 1000000000u);
    options.statements = static_cast<long>(NumberFromEnv("STRESS_STATEMENTS", 1000));
    options.concurrent_statements = static_cast<long>(NumberFromEnv("STRESS_CONCURRENT_STATEMENTS", 4000));
    options.sessions = static_cast<int>(NumberFromEnv("STRESS_SESSIONS", 4));
    const char* mode = std::getenv("STRESS_MODE");
    const std::string mode_text = mode != nullptr && *mode != '\0' ? mode : "all";
    if (mode_text != "all" && mode_text != "sequential" && mode_text != "concurrent") {
        std::fprintf(stderr, "stress: STRESS_MODE must be all, sequential or concurrent\n");
        std::exit(2);
    }
    options.sequential = mode_text != "concurrent";
    options.concurrent = mode_text != "sequential" && options.sessions > 0;
    const char* script = std::getenv("STRESS_SCRIPT");
    if (script != nullptr) options.script = script;
    const char* deadlocks = std::getenv("STRESS_DEADLOCKS");
    if (deadlocks != nullptr) options.deadlock_log = deadlocks;
    return options;
}

// "t_pk 120, t_bag 95, t_kv 80": shows whether the statement mix keeps the
// tables at a useful size.
std::string TableSizes(Connection& conn) {
    std::string out;
    for (const Table& table : Tables())
        out += (out.empty() ? "" : ", ") + table.name + " " + conn.Scalar("SELECT count(*) FROM " + table.name);
    return out;
}

RunStats RunSequentialMode(const Options& options) {
    const std::string dbname = DatabaseName("sequential");
    RecreateDatabase(dbname);
    Connection conn(dbname);
    Rng rng = Rng::ForStream(options.seed, 1);
    DmlWeights weights;
    DmlGenerator dml(rng, 0, 1, weights);
    History history(20, options.script);
    CreateSchema(conn, dml, history);
    // Resets the scheduler settings the run changes, also when it fails.
    SettingsGuard settings(&history);
    Connection side(dbname);
    SequentialRunner runner(conn, rng, dml, history, options.seed, &side);
    RunStats stats = runner.Run(options.statements);
    settings.Restore();
    std::printf("sequential: the tables ended with %s rows\n", TableSizes(conn).c_str());
    std::printf(
        "sequential: %ld statements (%ld inside %ld transactions, %ld rolled back, %ld rollbacks "
        "to a "
        "savepoint), %ld transactions of a second session with an older transaction id (%ld "
        "backlogs drained by the scheduler alone and checked, %.1f s waiting, %ld flushed "
        "instead), %ld flushes, %ld mode switches (%ld pairs of nested levels), %ld "
        "max_batch_rows changes, %ld full_refresh_ratio changes, %ld checks of %zu IMMVs, %ld "
        "unique violations, %ld foreign key violations, %ld serialization failures of a flush or "
        "TRUNCATE in a snapshot transaction, 0 mismatches, %.1f s\n",
        stats.statements, stats.in_transactions, stats.transactions, stats.rolled_back, stats.savepoint_rollbacks,
        stats.side_transactions, stats.drains, stats.drain_seconds, stats.drain_timeouts, stats.flushes,
        stats.mode_switches, stats.chain_switches, stats.batch_rows_changes, stats.ratio_changes, stats.checks,
        Views().size(), stats.unique_violations, stats.foreign_key_violations, stats.serialization_retries,
        stats.seconds);
    return stats;
}

RunStats RunConcurrentMode(const Options& options) {
    const std::string dbname = DatabaseName("concurrent");
    RecreateDatabase(dbname);
    {
        Connection conn(dbname);
        Rng rng = Rng::ForStream(options.seed, 2);
        // Setup rows take key stream `sessions`, so sessions never reuse their keys.
        DmlGenerator dml(rng, options.sessions, options.sessions + 1);
        History history(20);
        CreateSchema(conn, dml, history);
    }
    // Resets the scheduler settings the run changes, also when it fails.
    SettingsGuard settings;
    ConcurrentOptions concurrent;
    concurrent.dbname = dbname;
    concurrent.seed = options.seed;
    concurrent.sessions = options.sessions;
    concurrent.statements_per_session = options.concurrent_statements / options.sessions + 1;
    concurrent.deadlock_log = options.deadlock_log;
    RunStats stats = RunConcurrent(concurrent);
    settings.Restore();
    std::printf(
        "concurrent: %d sessions, %ld statements, %ld transactions (%ld rolled back), %ld retries "
        "(%ld deadlocks: %ld of the workload's own, %ld caused by maintenance, %ld with a "
        "maintenance operation; %ld serialization failures, %ld lock timeouts), %ld unique "
        "violations, "
        "%ld foreign key violations, %ld flushes, %ld mode switches (%ld pairs of nested levels, "
        "%ld retried after a conflict, %ld verified right after switching to immediate), %ld "
        "max_batch_rows changes, %ld full_refresh_ratio changes, %ld checks, 0 mismatches, "
        "%.1f s\n",
        options.sessions, stats.statements, stats.transactions, stats.rolled_back,
        stats.deadlock_retries + stats.serialization_retries + stats.lock_timeouts, stats.deadlock_retries,
        stats.deadlocks_workload, stats.deadlocks_maintenance, stats.deadlocks_operation, stats.serialization_retries,
        stats.lock_timeouts, stats.unique_violations, stats.foreign_key_violations, stats.flushes, stats.mode_switches,
        stats.chain_switches, stats.switch_retries, stats.switch_checks, stats.batch_rows_changes, stats.ratio_changes,
        stats.checks, stats.seconds);
    if (!stats.failure_after_summary.empty()) throw StressFailure(stats.failure_after_summary);
    return stats;
}

int Main() {
    const Options options = OptionsFromEnv();
    std::printf("stress: seed %llu (rerun with STRESS_SEED=%llu)\n", static_cast<unsigned long long>(options.seed),
                static_cast<unsigned long long>(options.seed));
    std::fflush(stdout);
    RunStats total;
    try {
        if (options.sequential) total.Add(RunSequentialMode(options));
        std::fflush(stdout);
        if (options.concurrent) total.Add(RunConcurrentMode(options));
    } catch (const StressFailure& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "\n%s\nstress: FAILED (seed %llu); its database (ivmx_stress_*_%d) is kept\n", e.what(),
                     static_cast<unsigned long long>(options.seed), static_cast<int>(getpid()));
        return 1;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "\nstress: error: %s\nstress: FAILED (seed %llu)\n", e.what(),
                     static_cast<unsigned long long>(options.seed));
        return 1;
    }
    DropDatabase(DatabaseName("sequential"));
    DropDatabase(DatabaseName("concurrent"));
    std::printf("stress: PASS: %ld statements, %ld checks of %zu IMMVs, 0 mismatches (seed %llu)\n", total.statements,
                total.checks, Views().size(), static_cast<unsigned long long>(options.seed));
    return 0;
}

}  // namespace

}  // namespace stress

int main() {
    return stress::Main();
}
