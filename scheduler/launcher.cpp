// The launcher: a static background worker ("pg_ivmx launcher") that keeps
// one scheduler (scheduler_worker.cpp) running per database that has pg_ivmx
// installed.
//
// How it works
// ------------
// The launcher connects to no database, so it can read pg_database but not
// the pg_extension of any database. A database not yet known to have pg_ivmx
// therefore gets a *probe*: a scheduler that connects, finds no extension and
// exits with kNotInstalled. The launcher remembers that until a CREATE
// EXTENSION pg_ivmx commits there (the committing backend queues a probe
// request and sets the launcher's latch) or the launcher restarts. At most
// kMaxConcurrentProbes probes run at once; schedulers of databases known to
// have pg_ivmx start without that limit.
//
// Per database, in the launcher's local memory (one entry per connectable,
// non-template, valid database):
//
//                     database appears in pg_database,
//                     or CREATE EXTENSION pg_ivmx commits there
//                                    |
//                                    v
//     +------------------------->  IDLE
//     |  kTerminated: after 1 s      |  next_start reached, database not
//     |  kStopped: when unblocked    |  blocked, slot and worker available:
//     |  kFailed: back-off 1..60 s   |  register a "pg_ivmx scheduler"
//     |                              v
//     +------- scheduler exits --- ACTIVE --- exits with kNotInstalled ---+
//                                    ^                                    |
//                                    |                                    v
//                                    +--- CREATE EXTENSION pg_ivmx --- NOT_INSTALLED
//
// (A kNotInstalled exit goes back to IDLE instead if CREATE EXTENSION was
// requested while the scheduler ran: its check may predate that commit.)
//
// Per scheduler, in shared memory (shared_state.hpp):
//
//     FREE --launcher reserves--> STARTING --scheduler attaches--> RUNNING
//      ^                              |                               |
//      |                  worker gone before attaching     scheduler exits and
//      |                  (launcher frees the slot)        records why (exit
//      |                              |                    callback, latch of
//      +------- launcher reaps ---- EXITED <---------------- the launcher)
//
// A scheduler loops: wait on its latch (ivmx.naptime, or sooner when a writer
// that logged deferred changes commits), reload config on SIGHUP, check that
// pg_ivmx is still installed, run one refresh round. It exits with kStopped
// when DROP DATABASE (or another command that needs the database alone)
// blocks its database (wakeup.cpp), kTerminated on any other SIGTERM,
// kNotInstalled after DROP EXTENSION, kFailed when an error ends it.
//
// The launcher rescans pg_database every kLauncherNaptimeMs and whenever its
// latch is set (worker start/stop notifications, probe requests, released
// blocks). SIGHUP reloads the configuration; SIGTERM ends it with exit code
// 1, so the postmaster restarts it after kLauncherRestartSeconds unless the
// server is shutting down. A new launcher adopts the slots it finds in use.
#include "shared_state.hpp"
#include "wakeup.hpp"
#include "workers.hpp"

extern "C" {
PGDLLEXPORT void ivmx_launcher_main(Datum main_arg);
}

namespace ivmx::pg {

namespace {

constexpr int kLauncherRestartSeconds = 5;
constexpr long kLauncherNaptimeMs = 10000;
constexpr long kRestartAfterTerminateMs = 1000;
constexpr long kFirstRetryMs = 1000;
constexpr long kMaxRetryMs = 60000;
constexpr long kHealthyRunMs = 60000;     // a scheduler that ran this long resets the back-off
constexpr long kNoWorkerRetryMs = 5000;   // no slot or bgworker free
constexpr long kUnattachedLimitMs = 60000;  // adopted STARTING slot without a handle
constexpr int kMaxConcurrentProbes = 2;

enum class DatabaseState : uint8 { kIdle, kActive, kNotInstalled };

// The launcher's memory of one database (an HTAB entry; the key comes first).
struct DatabaseEntry {
    Oid database_id;
    DatabaseState state;
    int slot;                        // kActive: its scheduler's slot
    BackgroundWorkerHandle* handle;  // kActive, if this launcher started it
    TimestampTz active_since;
    TimestampTz next_start;  // kIdle: not before
    int failures;            // consecutive kFailed exits
    bool expect_installed;   // pg_ivmx seen there, or CREATE EXTENSION asked
    bool requested_while_active;
    bool seen;  // listed by the last pg_database scan
};

MemoryContext g_launcher_context = nullptr;
HTAB* g_databases = nullptr;
bool g_warned_no_worker = false;

// --- the database table ------------------------------------------------------

DatabaseEntry* EnterDatabase(Oid database_id) {
    bool found = false;
    auto* entry =
        static_cast<DatabaseEntry*>(hash_search(g_databases, &database_id, HASH_ENTER, &found));
    if (!found) {
        entry->state = DatabaseState::kIdle;
        entry->slot = -1;
        entry->handle = nullptr;
        entry->active_since = 0;
        entry->next_start = 0;
        entry->failures = 0;
        entry->expect_installed = false;
        entry->requested_while_active = false;
        entry->seen = false;
    }
    return entry;
}

void InitLauncherState() {
    g_launcher_context =
        AllocSetContextCreate(TopMemoryContext, "pg_ivmx launcher", ALLOCSET_DEFAULT_SIZES);
    HASHCTL ctl;
    memset(&ctl, 0, sizeof(ctl));
    ctl.keysize = sizeof(Oid);
    ctl.entrysize = sizeof(DatabaseEntry);
    ctl.hcxt = g_launcher_context;
    g_databases = hash_create("pg_ivmx launcher databases", 64, &ctl,
                              HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

// A new launcher takes over the schedulers its predecessor started.
void AdoptExistingSlots() {
    const TimestampTz now = GetCurrentTimestamp();
    for (int i = 0; i < SlotCount(); ++i) {
        Oid database_id = InvalidOid;
        if (ReadSlot(i, &database_id) == SlotState::kFree) continue;
        DatabaseEntry* entry = EnterDatabase(database_id);
        if (entry->state == DatabaseState::kActive) continue;
        entry->state = DatabaseState::kActive;
        entry->slot = i;
        entry->active_since = now;
        entry->expect_installed = true;
    }
}

// --- reaping schedulers that left --------------------------------------------

long RetryDelayMs(int failures) {
    long delay = kFirstRetryMs;
    for (int i = 1; i < failures && delay < kMaxRetryMs; ++i) delay *= 2;
    return delay < kMaxRetryMs ? delay : kMaxRetryMs;
}

void ScheduleAfterFailure(DatabaseEntry* entry, const SlotExit& exit, TimestampTz now) {
    if (exit.attached_at != 0 && TimestampDifferenceExceeds(exit.attached_at, now, kHealthyRunMs))
        entry->failures = 0;
    entry->failures++;
    const long delay = RetryDelayMs(entry->failures);
    elog(LOG, "pg_ivmx scheduler of database %u failed; next start in %ld ms",
         entry->database_id, delay);
    entry->next_start = TimestampTzPlusMilliseconds(now, delay);
}

// The one transition function out of kActive.
void AfterSchedulerExit(DatabaseEntry* entry, const SlotExit& exit) {
    const TimestampTz now = GetCurrentTimestamp();
    if (entry->handle != nullptr) pfree(entry->handle);
    entry->handle = nullptr;
    entry->slot = -1;
    entry->state = DatabaseState::kIdle;
    entry->next_start = now;
    if (exit.extension_confirmed) entry->expect_installed = true;
    switch (exit.reason) {
        case SchedulerExit::kNotInstalled:
            entry->expect_installed = false;
            entry->failures = 0;
            if (!entry->requested_while_active) entry->state = DatabaseState::kNotInstalled;
            break;
        case SchedulerExit::kTerminated:
            entry->next_start = TimestampTzPlusMilliseconds(now, kRestartAfterTerminateMs);
            break;
        case SchedulerExit::kStopped:
            break;  // starts again once the database is no longer blocked
        case SchedulerExit::kNone:
        case SchedulerExit::kFailed:
            ScheduleAfterFailure(entry, exit, now);
            break;
    }
    entry->requested_while_active = false;
}

// Whether the worker of a STARTING slot is gone without having attached.
bool WorkerGoneBeforeAttaching(const DatabaseEntry* entry) {
    if (entry->handle == nullptr)
        return TimestampDifferenceExceeds(entry->active_since, GetCurrentTimestamp(),
                                          kUnattachedLimitMs);
    pid_t pid = 0;
    return GetBackgroundWorkerPid(entry->handle, &pid) == BGWH_STOPPED;
}

void ReapScheduler(DatabaseEntry* entry) {
    SlotExit exit{};
    if (TakeExitedSlot(entry->slot, &exit)) {
        AfterSchedulerExit(entry, exit);
        return;
    }
    // Only a slot still STARTING is freed here: a worker that attached has
    // moved its slot to RUNNING or EXITED before the postmaster reports it
    // stopped, and is reaped through TakeExitedSlot.
    if (WorkerGoneBeforeAttaching(entry) && FreeUnattachedSlot(entry->slot))
        AfterSchedulerExit(entry, SlotExit{SchedulerExit::kFailed, false, 0});
}

void ReapSchedulers() {
    HASH_SEQ_STATUS status;
    hash_seq_init(&status, g_databases);
    DatabaseEntry* entry;
    while ((entry = static_cast<DatabaseEntry*>(hash_seq_search(&status))) != nullptr) {
        if (entry->state == DatabaseState::kActive) ReapScheduler(entry);
    }
}

// --- probe requests ------------------------------------------------------------

void NoteProbeRequest(DatabaseEntry* entry) {
    entry->expect_installed = true;
    if (entry->state == DatabaseState::kActive) {
        entry->requested_while_active = true;
        return;
    }
    entry->state = DatabaseState::kIdle;
    entry->failures = 0;
    entry->next_start = GetCurrentTimestamp();
}

void ApplyProbeRequests() {
    Oid requested[kMaxProbeRequests];
    bool probe_all = false;
    const int count = TakeProbeRequests(requested, &probe_all);
    for (int i = 0; i < count; ++i) NoteProbeRequest(EnterDatabase(requested[i]));
    if (!probe_all) return;
    HASH_SEQ_STATUS status;
    hash_seq_init(&status, g_databases);
    DatabaseEntry* entry;
    while ((entry = static_cast<DatabaseEntry*>(hash_seq_search(&status))) != nullptr)
        if (entry->state == DatabaseState::kNotInstalled) NoteProbeRequest(entry);
}

// --- scanning pg_database ------------------------------------------------------

// Templates are skipped on purpose: a session in a template database makes
// CREATE DATABASE ... TEMPLATE fail.
bool SchedulerAllowed(Form_pg_database database) {
    return database->datallowconn && !database->datistemplate &&
           !database_is_invalid_form(database);
}

void MarkAllUnseen() {
    HASH_SEQ_STATUS status;
    hash_seq_init(&status, g_databases);
    DatabaseEntry* entry;
    while ((entry = static_cast<DatabaseEntry*>(hash_seq_search(&status))) != nullptr)
        entry->seen = false;
}

// Entries of databases that are gone (or no longer allowed) are dropped,
// unless a scheduler still holds a slot for them.
void ForgetUnseenDatabases() {
    HASH_SEQ_STATUS status;
    hash_seq_init(&status, g_databases);
    DatabaseEntry* entry;
    while ((entry = static_cast<DatabaseEntry*>(hash_seq_search(&status))) != nullptr) {
        if (entry->seen || entry->state == DatabaseState::kActive) continue;
        hash_search(g_databases, &entry->database_id, HASH_REMOVE, nullptr);
    }
}

// Reads pg_database in a short transaction. present[i] tells whether
// dropped[i] (a database whose DROP DATABASE committed) still has a row.
void ReadDatabases(const Oid* dropped, int dropped_count, bool* present) {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    Relation rel = table_open(DatabaseRelationId, AccessShareLock);
    TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
    HeapTuple tuple;
    while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
        auto database = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
        for (int i = 0; i < dropped_count; ++i)
            if (dropped[i] == database->oid) present[i] = true;
        if (SchedulerAllowed(database)) EnterDatabase(database->oid)->seen = true;
    }
    table_endscan(scan);
    table_close(rel, AccessShareLock);
    CommitTransactionCommand();
}

void ScanDatabases() {
    Oid dropped[kMaxDatabaseBlocks];
    bool present[kMaxDatabaseBlocks] = {};
    const int dropped_count = DroppedDatabaseBlocks(dropped);
    MarkAllUnseen();
    ReadDatabases(dropped, dropped_count, present);
    ForgetUnseenDatabases();
    for (int i = 0; i < dropped_count; ++i)
        if (!present[i]) ForgetDroppedBlock(dropped[i]);
}

// --- starting schedulers -------------------------------------------------------

void FillSchedulerWorker(BackgroundWorker* worker, int slot, Oid database_id) {
    memset(worker, 0, sizeof(*worker));
    snprintf(worker->bgw_name, BGW_MAXLEN, "pg_ivmx scheduler for database %u", database_id);
    strlcpy(worker->bgw_type, "pg_ivmx scheduler", BGW_MAXLEN);
    worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker->bgw_restart_time = BGW_NEVER_RESTART;
    strlcpy(worker->bgw_library_name, "pg_ivmx", BGW_MAXLEN);
    strlcpy(worker->bgw_function_name, "ivmx_scheduler_main", BGW_MAXLEN);
    worker->bgw_main_arg = Int32GetDatum(slot);
    memcpy(worker->bgw_extra, &database_id, sizeof(Oid));
    worker->bgw_notify_pid = MyProcPid;
}

void WarnNoWorker(DatabaseEntry* entry, const char* what) {
    entry->next_start = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kNoWorkerRetryMs);
    if (g_warned_no_worker) return;
    g_warned_no_worker = true;
    ereport(WARNING,
            (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
             errmsg("pg_ivmx launcher could not start a scheduler for database %u: %s",
                    entry->database_id, what),
             errhint("Raise max_worker_processes (each database with pg_ivmx needs one worker).")));
}

// Registers a scheduler for entry's database; false if no slot or worker.
bool StartScheduler(DatabaseEntry* entry) {
    const int slot = ReserveSlot(entry->database_id);
    if (slot < 0) {
        WarnNoWorker(entry, "no free scheduler slot");
        return false;
    }
    BackgroundWorker worker;
    FillSchedulerWorker(&worker, slot, entry->database_id);
    BackgroundWorkerHandle* handle = nullptr;
    const MemoryContext previous = MemoryContextSwitchTo(g_launcher_context);
    const bool registered = RegisterDynamicBackgroundWorker(&worker, &handle);
    MemoryContextSwitchTo(previous);
    if (!registered) {
        FreeUnattachedSlot(slot);
        WarnNoWorker(entry, "no free background worker slot");
        return false;
    }
    g_warned_no_worker = false;
    entry->state = DatabaseState::kActive;
    entry->slot = slot;
    entry->handle = handle;
    entry->active_since = GetCurrentTimestamp();
    entry->requested_while_active = false;
    return true;
}

int ActiveProbes() {
    int probes = 0;
    HASH_SEQ_STATUS status;
    hash_seq_init(&status, g_databases);
    DatabaseEntry* entry;
    while ((entry = static_cast<DatabaseEntry*>(hash_seq_search(&status))) != nullptr)
        if (entry->state == DatabaseState::kActive && !entry->expect_installed &&
            !(entry->slot >= 0 && ExtensionConfirmed(entry->slot)))
            ++probes;
    return probes;
}

bool Due(const DatabaseEntry* entry, TimestampTz now) {
    return entry->state == DatabaseState::kIdle && entry->seen && entry->next_start <= now;
}

void StartDueSchedulers() {
    int probes = ActiveProbes();
    const TimestampTz now = GetCurrentTimestamp();
    HASH_SEQ_STATUS status;
    hash_seq_init(&status, g_databases);
    DatabaseEntry* entry;
    while ((entry = static_cast<DatabaseEntry*>(hash_seq_search(&status))) != nullptr) {
        if (!Due(entry, now) || DatabaseBlocked(entry->database_id)) continue;
        const bool probe = !entry->expect_installed;
        if (probe && probes >= kMaxConcurrentProbes) continue;
        if (!StartScheduler(entry)) {
            hash_seq_term(&status);
            return;
        }
        if (probe) ++probes;
    }
}

// Time until the next entry becomes due. Entries already due but held back
// (probe limit, blocked database) are started when a latch event arrives: a
// probe exiting or a block being released sets the launcher's latch.
long NextWakeupMs() {
    long timeout = kLauncherNaptimeMs;
    const TimestampTz now = GetCurrentTimestamp();
    HASH_SEQ_STATUS status;
    hash_seq_init(&status, g_databases);
    DatabaseEntry* entry;
    while ((entry = static_cast<DatabaseEntry*>(hash_seq_search(&status))) != nullptr) {
        if (entry->state != DatabaseState::kIdle || entry->next_start <= now) continue;
        const long wait = TimestampDifferenceMilliseconds(now, entry->next_start);
        if (wait < timeout) timeout = wait;
    }
    return timeout;
}

long LauncherRound() {
    ReapSchedulers();
    ApplyProbeRequests();
    ScanDatabases();
    StartDueSchedulers();
    return NextWakeupMs();
}

void HandleLauncherInterrupts() {
    // Exit code 1: restarted unless the server shuts down. No elog() first:
    // errfinish() would CHECK_FOR_INTERRUPTS and turn this into a FATAL.
    if (ProcDiePending) proc_exit(1);
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
        ConfigReloadPending = false;
        ProcessConfigFile(PGC_SIGHUP);
    }
}

void RegisterLauncherWorker() {
    BackgroundWorker worker;
    memset(&worker, 0, sizeof(worker));
    strlcpy(worker.bgw_name, "pg_ivmx launcher", BGW_MAXLEN);
    strlcpy(worker.bgw_type, "pg_ivmx launcher", BGW_MAXLEN);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = kLauncherRestartSeconds;
    strlcpy(worker.bgw_library_name, "pg_ivmx", BGW_MAXLEN);
    strlcpy(worker.bgw_function_name, "ivmx_launcher_main", BGW_MAXLEN);
    RegisterBackgroundWorker(&worker);
}

[[noreturn]] void RunLauncher() {
    AttachLauncher();
    SetConfigOption("application_name", "pg_ivmx launcher", PGC_USERSET, PGC_S_SESSION);
    pgstat_report_appname("pg_ivmx launcher");
    InitLauncherState();
    AdoptExistingSlots();
    for (;;) {
        HandleLauncherInterrupts();
        const long timeout = LauncherRound();
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}

}  // namespace

void InstallBackgroundWorkers() {
    if (!process_shared_preload_libraries_in_progress) return;
    InstallSharedStateHooks();
    RegisterLauncherWorker();
    RegisterWakeupCallback();
}

}  // namespace ivmx::pg

// Entry point of the launcher. It connects to no database: it only reads the
// shared catalog pg_database.
void ivmx_launcher_main(Datum main_arg) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
    ivmx::pg::RunLauncher();
}
