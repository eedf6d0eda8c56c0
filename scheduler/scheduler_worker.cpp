// The per-database scheduler: a dynamic background worker ("pg_ivmx
// scheduler") started by the launcher (launcher.cpp) for one database. It
// refreshes the database's deferred IMMVs by calling RunSchedulerRound() in a
// loop, sleeping on its latch in between; committing writers set that latch.
// A database has up to ivmx.max_workers_per_database of them: they share its
// IMMVs (RunSchedulerRound claims each IMMV before refreshing it), and the
// one in the lowest slot also checks the IMMVs' triggers.
//
// The loop is C-shaped (trivially destructible locals only) because it calls
// CHECK_FOR_INTERRUPTS and WaitLatch; the C++ refresh engine is entered only
// through EntryGuard. An error escaping a round becomes FATAL here (a
// background worker has no outer error handler): the process exits and the
// launcher starts a new one after a back-off.
//
// What RunSchedulerRound() can rely on:
//   * no transaction is open, CurrentResourceOwner is NULL, no snapshot is
//     active: it starts (and ends) its own transactions;
//   * CurrentMemoryContext is "pg_ivmx scheduler round", reset after each
//     round: anything meant to outlive a round goes to TopMemoryContext or
//     CacheMemoryContext explicitly (SPI_keepplan'd plans are fine);
//   * it runs as the bootstrap superuser, connected to the database, with
//     application_name "pg_ivmx scheduler";
//   * SIGTERM is PostgreSQL's die(): the next CHECK_FOR_INTERRUPTS (inside
//     PostgreSQL, or in the engine's own C-shaped frames) ends the process
//     with FATAL, which is an exit, not a longjmp; SIGINT (pg_cancel_backend,
//     statement_timeout) raises an ERROR that PgCall turns into PgError,
//     which RunSchedulerRound rethrows (no view's failure) and which
//     therefore ends the process like any error escaping a round;
//     SIGHUP is handled here between rounds, so the ivmx.* getters are
//     current at the start of each round;
//   * writers' wake-ups arrive as the latch plus a flag in the slot; the
//     flag is checked after each round, so a wait on MyLatch inside the round
//     (a lock wait, or the engine's own) cannot lose a wake-up. A writer sets
//     the latch of one scheduler out of its round only (SetInRound): while
//     one refreshes a slow IMMV, another serves the commits.
// A transaction left open by a round is aborted here with a WARNING.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "../extension/catalog.hpp"
#include "../extension/ddl.hpp"
#include "../extension/pg_util.hpp"
#include "../extension/settings.hpp"
#include "ivmx/pg/guards.hpp"
#include "scheduler_round.hpp"
#include "shared_state.hpp"

extern "C" {
PGDLLEXPORT void ivmx_scheduler_main(Datum main_arg);
}

namespace ivmx::pg {

namespace {

constexpr const char* kExtensionName = "pg_ivmx";
constexpr const char* kApplicationName = "pg_ivmx scheduler";

// Leaves with exit code 0 after recording why; the launcher decides whether a
// successor starts.
[[noreturn]] void ExitScheduler(int slot, SchedulerExit reason) {
    SetSchedulerExit(slot, reason);
    proc_exit(0);
}

// SIGTERM between rounds is a clean exit; SIGTERM during a round ends it
// with FATAL at the engine's next CHECK_FOR_INTERRUPTS (the transaction is
// aborted and the slot still records kTerminated or kStopped). SIGHUP reloads
// the configuration; CHECK_FOR_INTERRUPTS serves the rest (barriers, ...).
void HandleInterrupts(int slot) {
    // No elog() before leaving: errfinish() itself would CHECK_FOR_INTERRUPTS.
    if (ProcDiePending) ExitScheduler(slot, StopRequested(slot) ? SchedulerExit::kStopped : SchedulerExit::kTerminated);
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
        ConfigReloadPending = false;
        ProcessConfigFile(PGC_SIGHUP);
    }
}

// Whether pg_ivmx is installed in this database (a short transaction).
bool InstalledInDatabase() {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    const bool installed = OidIsValid(get_extension_oid(kExtensionName, true));
    CommitTransactionCommand();
    return installed;
}

// The extension is checked when the scheduler starts, at most once per
// naptime afterwards, and at once when DROP EXTENSION / DROP SCHEMA committed.
bool ExtensionCheckDue(int slot, TimestampTz last_check) {
    if (TakeRecheckRequest(slot) || last_check == 0) return true;
    return TimestampDifferenceExceeds(last_check, GetCurrentTimestamp(), NaptimeMs());
}

// Every successful check is recorded (with the time it started): the
// launcher tells from it that the extension is (again) installed.
void CheckExtensionOrExit(int slot) {
    const TimestampTz checked_at = GetCurrentTimestamp();
    if (!InstalledInDatabase()) {
        SetSchedulerExit(slot, SchedulerExit::kNotInstalled);  // first: elog may not return
        elog(DEBUG1, "pg_ivmx scheduler exiting: the extension is not installed in this database");
        proc_exit(0);
    }
    ConfirmExtension(slot, checked_at);
}

long ClampSleep(long sleep_ms) {
    if (sleep_ms < 0) return 0;
    return sleep_ms > NaptimeMs() ? NaptimeMs() : sleep_ms;
}

// One refresh round, outside any transaction, in round_context (reset
// afterwards). Returns the time to sleep before the next round, and whether
// a backlog remains.
RoundOutcome RunRound(MemoryContext round_context) {
    RoundOutcome outcome{NaptimeMs(), false};
    pgstat_report_activity(STATE_RUNNING, "pg_ivmx scheduler round");
    const MemoryContext previous = MemoryContextSwitchTo(round_context);
    EntryGuard([&outcome] { outcome = RunSchedulerRound(); });
    MemoryContextSwitchTo(previous);
    MemoryContextReset(round_context);
    if (IsTransactionState()) {
        elog(WARNING, "pg_ivmx scheduler round left a transaction open; aborting it");
        AbortCurrentTransaction();
    }
    pgstat_report_stat(false);
    pgstat_report_activity(STATE_IDLE, nullptr);
    outcome.sleep_ms = ClampSleep(outcome.sleep_ms);
    return outcome;
}

// While ivmx.enabled is off, the scheduler still remembers a snapshot per
// naptime: a backlog built meanwhile can then be split in commit order.
void RememberSnapshotWhileIdle(MemoryContext round_context) {
    const MemoryContext previous = MemoryContextSwitchTo(round_context);
    EntryGuard([] { RecordSnapshotMark(); });
    MemoryContextSwitchTo(previous);
    MemoryContextReset(round_context);
    if (IsTransactionState()) AbortCurrentTransaction();
}

// How often the scheduler looks for IMMVs whose triggers are missing or
// disabled (no refresh would notice: their changes are simply not logged).
constexpr long kTriggerCheckIntervalMs = 60 * 1000;

void LogTriggerCheckFailure(const char* message) {
    PgCall([&] { ereport(LOG, (errmsg("pg_ivmx scheduler could not check the triggers of IMMVs: %s", message))); });
}

// Logs a WARNING for each IMMV whose triggers are missing or disabled
// (ivmx.immv_status shows it as broken), once until it is repaired. In a
// transaction of its own; its errors are logged, not raised, except a
// request to stop (a cancel, a shutdown), which ends the round as in
// RunSchedulerRound.
void WarnAboutBrokenTriggers() {
    static std::set<Oid> warned;
    PgCall([] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
    try {
        SpiConnect();
        std::set<Oid> broken;
        for (const ImmvSummary& summary : ListImmvs()) {
            const Oid immv = summary.relid;
            if (PgCall([&] { return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(immv)); }) && !TriggersIntact(immv))
                broken.insert(immv);
        }
        for (Oid immv : broken)
            if (warned.count(immv) == 0) WarnTriggersMissing(immv);
        warned = broken;
        SpiFinish();
        PgCall([] {
            PopActiveSnapshot();
            CommitTransactionCommand();
        });
    } catch (const PgError& e) {
        PgCall([] { AbortCurrentTransaction(); });
        if (IsInterruption(e)) throw;
        LogTriggerCheckFailure(e.what());
    } catch (const std::exception& e) {
        PgCall([] { AbortCurrentTransaction(); });
        LogTriggerCheckFailure(e.what());
    }
}

// The round's work besides refreshing, now and then; by one scheduler of the
// database only (the first), so that a broken IMMV is reported once.
void CheckTriggersIfDue(MemoryContext round_context, TimestampTz* last_check) {
    int rank = 0;
    int count = 1;
    DatabaseSchedulerRank(&rank, &count);
    if (rank != 0) return;
    if (*last_check != 0 && !TimestampDifferenceExceeds(*last_check, GetCurrentTimestamp(), kTriggerCheckIntervalMs))
        return;
    *last_check = GetCurrentTimestamp();
    const MemoryContext previous = MemoryContextSwitchTo(round_context);
    EntryGuard([] { WarnAboutBrokenTriggers(); });
    MemoryContextSwitchTo(previous);
    MemoryContextReset(round_context);
}

[[noreturn]] void SchedulerLoop(int slot) {
    const MemoryContext round_context =
        AllocSetContextCreate(TopMemoryContext, "pg_ivmx scheduler round", ALLOCSET_DEFAULT_SIZES);
    TimestampTz last_check = 0;
    TimestampTz last_round = 0;
    TimestampTz last_trigger_check = 0;
    bool backlog = false;
    for (;;) {
        HandleInterrupts(slot);
        // The launcher keeps fewer schedulers here than before (a reload of
        // ivmx.max_workers_per_database): leave between rounds.
        if (RetireRequested(slot)) {
            PassOnWakeRequest(slot);
            ExitScheduler(slot, SchedulerExit::kRetired);
        }
        // Rounds start at most every ivmx.refresh_delay: the commits of a busy
        // database are applied in batches instead of one refresh each. A
        // backlog larger than a batch is drained round after round.
        const long since = last_round == 0 ? LONG_MAX : static_cast<long>((GetCurrentTimestamp() - last_round) / 1000);
        if (since < RefreshDelayMs() && !backlog) {
            (void)WaitLatch(nullptr, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, RefreshDelayMs() - since, PG_WAIT_EXTENSION);
            HandleInterrupts(slot);
        }
        last_round = GetCurrentTimestamp();
        if (ExtensionCheckDue(slot, last_check)) {
            CheckExtensionOrExit(slot);
            last_check = GetCurrentTimestamp();
        }
        // Cleared before the round: a commit after this point sets the flag
        // (and, while this scheduler is out of its round, the latch) again.
        // The flag is checked after the round too: a commit during the round
        // sets no latch here, and a wait inside PostgreSQL (a lock wait) may
        // have consumed it.
        SetInRound(slot, true);
        (void)TakeWakeRequest(slot);
        RoundOutcome outcome{NaptimeMs(), false};
        if (SchedulerEnabled()) {
            outcome = RunRound(round_context);
            CheckTriggersIfDue(round_context, &last_trigger_check);
        } else {
            RememberSnapshotWhileIdle(round_context);
        }
        backlog = outcome.backlog;
        long sleep_ms = outcome.sleep_ms;
        SetInRound(slot, false);
        if (TakeWakeRequest(slot) && SchedulerEnabled()) sleep_ms = 0;
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, sleep_ms, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}

void ReportApplicationName() {
    SetConfigOption("application_name", kApplicationName, PGC_USERSET, PGC_S_SESSION);
    pgstat_report_appname(kApplicationName);
}

// The scheduler runs as a superuser: its own statements must resolve no
// operator or function through schemas other roles can create objects in
// (search_path set with ALTER DATABASE or ALTER ROLE included; a session
// value wins over those, also after a reload).
void PinSearchPath() {
    SetConfigOption("search_path", kSafeSearchPath, PGC_SUSET, PGC_S_SESSION);
}

// In a deadlock the process whose deadlock_timeout runs out first detects it
// and is the one cancelled. The scheduler checks after a tenth of the
// server's deadlock_timeout, so it gives way to sessions (and retries).
void YieldInDeadlocks() {
    char ms[16];
    snprintf(ms, sizeof(ms), "%d", std::max(1, DeadlockTimeout / 10));
    SetConfigOption("deadlock_timeout", ms, PGC_SUSET, PGC_S_SESSION);
}

}  // namespace

}  // namespace ivmx::pg

// Entry point of the worker. main_arg is the slot the launcher reserved; the
// database oid is in bgw_extra. Runs as the bootstrap superuser; the refresh
// engine switches to each IMMV's owner itself.
void ivmx_scheduler_main(Datum main_arg) {
    const int slot = DatumGetInt32(main_arg);
    Oid database_id = InvalidOid;
    memcpy(&database_id, MyBgworkerEntry->bgw_extra, sizeof(Oid));
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, ivmx::pg::SchedulerSigtermHandler);
    if (!ivmx::pg::AttachScheduler(slot, database_id)) proc_exit(0);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnectionByOid(database_id, InvalidOid, 0);
    ivmx::pg::ReportApplicationName();
    ivmx::pg::PinSearchPath();
    ivmx::pg::YieldInDeadlocks();
    ivmx::pg::SchedulerLoop(slot);
}
