// The launcher: a static background worker ("pg_ivmx launcher") that keeps
// ivmx.max_workers_per_database schedulers (scheduler_worker.cpp) running per
// database that has pg_ivmx installed.
//
// How it works
// ------------
// The launcher connects to no database, so it can read pg_database but not
// the pg_extension of any database. A database not yet known to have pg_ivmx
// therefore gets a *probe*: one scheduler that connects, finds no extension
// and exits with kNotInstalled. The launcher remembers that until a CREATE
// EXTENSION pg_ivmx commits there (the committing backend queues a probe
// request and sets the launcher's latch) or the launcher restarts. At most
// kMaxConcurrentProbes probes run at once; the first scheduler of a database
// known to have pg_ivmx starts without that limit. The other schedulers of a
// database start only once one of them has found pg_ivmx there (it then sets
// the launcher's latch): a database without it costs one worker, not N.
//
// Per database, in the launcher's local memory (one entry per connectable,
// non-template, valid database); N is ivmx.max_workers_per_database, read
// at each round (a configuration reload sets the launcher's latch):
//
//                database appears in pg_database,
//                or CREATE EXTENSION pg_ivmx commits there
//                                |
//                                v
//    +----------------------->  IDLE  <------------------------------------+
//    |                           |  next_start reached, database not       |
//    |                           |  blocked, a slot and a worker free, a   |
//    |                           |  probe allowed (or pg_ivmx expected     |
//    |                           |  there): start one scheduler            |
//    |  it exits (not with       v                                         |
//    +-- kNotInstalled) ----- PROBING ----- it exits with ----------+      |
//                                |          kNotInstalled           |      |
//                                | it found pg_ivmx                 |      |
//                                v                                  |      |
//    N schedulers (N =        ACTIVE ---- the last one exits -------|------+
//    ivmx.max_workers_per_     |  ^       (not with kNotInstalled)  |
//    database): fewer, start   |  |                                 |
//    one more when next_start  |  | one of them finds pg_ivmx       |
//    is reached; more, retire  |  | again (dropped and created)     |
//    the newest (it leaves     |  |                                 |
//    after its round)          v  |                                 v
//    one exits with -------> DRAINING ---- the last one exits --> NOT_INSTALLED
//    kNotInstalled, others   (none starts)                          |
//    remain                                                         |
//                                IDLE <--- CREATE EXTENSION --------+
//
// After an exit, the next scheduler of the database starts: kTerminated
// after 1 s, kFailed after a back-off of 1..60 s, kStopped once the database
// is no longer blocked, the others at once. ACTIVE goes to NOT_INSTALLED
// directly when its last scheduler exits with kNotInstalled. A kNotInstalled
// end goes to IDLE instead of NOT_INSTALLED if CREATE EXTENSION was
// requested while schedulers ran: their check may predate that commit.
// TransitionTo() is the one place where a database changes state.
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
// pg_ivmx is still installed, run one refresh round; the schedulers of a
// database share its IMMVs (scheduler_round.cpp). A scheduler exits with
// kStopped when DROP DATABASE (or another command that needs the database
// alone) blocks its database (wakeup.cpp: every scheduler of the database is
// stopped), kRetired when the launcher retires it, kTerminated on any other
// SIGTERM, kNotInstalled after DROP EXTENSION (each scheduler of the database
// rechecks at once), kFailed when an error ends it.
//
// When max_worker_processes runs out, a database gets fewer schedulers:
// first schedulers are started before any database gets a second one, and
// a database that gets none makes one with several give one up (retired);
// the launcher logs a WARNING when a database gets none, a LOG line when it
// runs fewer than N, and tries again every kNoWorkerRetryMs.
//
// The launcher rescans pg_database every kLauncherNaptimeMs and whenever its
// latch is set (worker start/stop notifications, probe requests, released
// blocks, first confirmations, configuration reloads). SIGHUP reloads the
// configuration; SIGTERM ends it with exit code 1, so the postmaster restarts
// it after kLauncherRestartSeconds unless the server is shutting down. A new
// launcher adopts the slots it finds in use.
#include "../extension/settings.hpp"
#include "ivmx/core/retry_backoff.hpp"
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
constexpr long kHealthyRunMs = 60000;       // a scheduler that ran this long resets the back-off
constexpr long kNoWorkerRetryMs = 5000;     // no slot or bgworker free
constexpr long kUnattachedLimitMs = 60000;  // adopted STARTING slot without a handle
constexpr int kMaxConcurrentProbes = 2;
constexpr int kMaxSchedulers = kMaxWorkersPerDatabaseLimit;

enum class DatabaseState : uint8 { kIdle, kProbing, kActive, kDraining, kNotInstalled };

// One scheduler of a database.
struct SchedulerRef {
    int slot;
    BackgroundWorkerHandle* handle;  // if this launcher started it
    TimestampTz started_at;          // or adopted at
    bool retiring;                   // asked to leave (RequestRetire)
};

// The launcher's memory of one database (an HTAB entry; the key comes first).
struct DatabaseEntry {
    Oid database_id;
    DatabaseState state;
    TimestampTz state_since;
    int scheduler_count;  // 0 in kIdle and kNotInstalled
    SchedulerRef schedulers[kMaxSchedulers];
    TimestampTz next_start;  // no scheduler starts before (retry, back-off)
    int failures;            // consecutive kFailed exits
    bool expect_installed;   // pg_ivmx seen there, or CREATE EXTENSION asked
    bool requested_while_running;
    bool starved;       // kIdle: its first scheduler found no free worker
    bool warned_short;  // logged that it runs fewer schedulers than asked
    bool seen;          // listed by the last pg_database scan
};

MemoryContext g_launcher_context = nullptr;
HTAB* g_databases = nullptr;
bool g_warned_no_worker = false;

// --- the database table ------------------------------------------------------

DatabaseEntry* EnterDatabase(Oid database_id) {
    bool found = false;
    auto* entry = static_cast<DatabaseEntry*>(hash_search(g_databases, &database_id, HASH_ENTER, &found));
    if (!found) {
        entry->state = DatabaseState::kIdle;
        entry->state_since = GetCurrentTimestamp();
        entry->scheduler_count = 0;
        entry->next_start = 0;
        entry->failures = 0;
        entry->expect_installed = false;
        entry->requested_while_running = false;
        entry->starved = false;
        entry->warned_short = false;
        entry->seen = false;
    }
    return entry;
}

void InitLauncherState() {
    g_launcher_context = AllocSetContextCreate(TopMemoryContext, "pg_ivmx launcher", ALLOCSET_DEFAULT_SIZES);
    HASHCTL ctl;
    memset(&ctl, 0, sizeof(ctl));
    ctl.keysize = sizeof(Oid);
    ctl.entrysize = sizeof(DatabaseEntry);
    ctl.hcxt = g_launcher_context;
    g_databases = hash_create("pg_ivmx launcher databases", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

// Calls f(entry) for every database entry.
template <typename F>
void ForEachDatabase(F&& f) {
    HASH_SEQ_STATUS status;
    hash_seq_init(&status, g_databases);
    DatabaseEntry* entry;
    while ((entry = static_cast<DatabaseEntry*>(hash_seq_search(&status))) != nullptr) f(entry);
}

// --- the state machine -----------------------------------------------------------

const char* StateName(DatabaseState state) {
    switch (state) {
        case DatabaseState::kIdle:
            return "idle";
        case DatabaseState::kProbing:
            return "probing";
        case DatabaseState::kActive:
            return "active";
        case DatabaseState::kDraining:
            return "draining";
        case DatabaseState::kNotInstalled:
            return "not installed";
    }
    return "?";
}

// The edges of the diagram at the top of this file.
bool TransitionAllowed(DatabaseState from, DatabaseState to) {
    switch (from) {
        case DatabaseState::kIdle:
            return to == DatabaseState::kProbing;
        case DatabaseState::kProbing:
            return to != DatabaseState::kProbing;
        case DatabaseState::kActive:
            return to == DatabaseState::kIdle || to == DatabaseState::kDraining || to == DatabaseState::kNotInstalled;
        case DatabaseState::kDraining:
            return to == DatabaseState::kActive || to == DatabaseState::kIdle || to == DatabaseState::kNotInstalled;
        case DatabaseState::kNotInstalled:
            return to == DatabaseState::kIdle;
    }
    return false;
}

// The one place where a database changes state, with what entering each
// state implies.
void TransitionTo(DatabaseEntry* entry, DatabaseState next) {
    elog(TransitionAllowed(entry->state, next) ? DEBUG1 : WARNING, "pg_ivmx launcher: database %u %s -> %s",
         entry->database_id, StateName(entry->state), StateName(next));
    entry->state = next;
    entry->state_since = GetCurrentTimestamp();
    entry->starved = false;
    switch (next) {
        case DatabaseState::kIdle:
        case DatabaseState::kProbing:
            // A new probe sees every CREATE EXTENSION committed so far.
            entry->requested_while_running = false;
            break;
        case DatabaseState::kActive:
            entry->expect_installed = true;
            entry->warned_short = false;
            break;
        case DatabaseState::kDraining:
            break;
        case DatabaseState::kNotInstalled:
            entry->expect_installed = false;
            entry->requested_while_running = false;
            entry->failures = 0;
            break;
    }
}

// A new launcher takes over the schedulers its predecessor started; they
// count as probes until ConfirmedSchedulers() sees their confirmation.
void AdoptExistingSlots() {
    const TimestampTz now = GetCurrentTimestamp();
    for (int i = 0; i < SlotCount(); ++i) {
        Oid database_id = InvalidOid;
        if (ReadSlot(i, &database_id) == SlotState::kFree) continue;
        DatabaseEntry* entry = EnterDatabase(database_id);
        if (entry->scheduler_count >= kMaxSchedulers) continue;
        entry->schedulers[entry->scheduler_count++] = SchedulerRef{i, nullptr, now, false};
        entry->expect_installed = true;
        if (entry->state == DatabaseState::kIdle) TransitionTo(entry, DatabaseState::kProbing);
    }
}

// --- reaping schedulers that left --------------------------------------------

// No scheduler of the database starts before `at`.
void PostponeStart(DatabaseEntry* entry, TimestampTz at) {
    if (entry->next_start < at) entry->next_start = at;
}

void ScheduleAfterFailure(DatabaseEntry* entry, const SlotExit& exit, TimestampTz now) {
    if (exit.attached_at != 0 && TimestampDifferenceExceeds(exit.attached_at, now, kHealthyRunMs)) entry->failures = 0;
    entry->failures++;
    const long delay = static_cast<long>(core::RetryDelayMs(entry->failures, kFirstRetryMs, kMaxRetryMs));
    elog(LOG, "pg_ivmx scheduler of database %u failed; next start in %ld ms", entry->database_id, delay);
    PostponeStart(entry, TimestampTzPlusMilliseconds(now, delay));
}

void ForgetScheduler(DatabaseEntry* entry, int index) {
    if (entry->schedulers[index].handle != nullptr) pfree(entry->schedulers[index].handle);
    for (int i = index + 1; i < entry->scheduler_count; ++i) entry->schedulers[i - 1] = entry->schedulers[i];
    entry->scheduler_count--;
}

// What a scheduler's exit does to its database: when the next one may start,
// and the transitions out of PROBING, ACTIVE and DRAINING.
void AfterSchedulerExit(DatabaseEntry* entry, int index, const SlotExit& exit) {
    const TimestampTz now = GetCurrentTimestamp();
    ForgetScheduler(entry, index);
    if (exit.extension_confirmed) entry->expect_installed = true;
    const bool not_installed = exit.reason == SchedulerExit::kNotInstalled;
    switch (exit.reason) {
        case SchedulerExit::kNotInstalled:
            entry->expect_installed = false;
            entry->failures = 0;
            break;
        case SchedulerExit::kTerminated:
            PostponeStart(entry, TimestampTzPlusMilliseconds(now, kRestartAfterTerminateMs));
            break;
        case SchedulerExit::kStopped:  // starts again once the database is no longer blocked
        case SchedulerExit::kRetired:  // not replaced unless N grew meanwhile
            break;
        case SchedulerExit::kNone:
        case SchedulerExit::kFailed:
            ScheduleAfterFailure(entry, exit, now);
            break;
    }
    const bool gone = not_installed || entry->state == DatabaseState::kDraining;
    if (entry->scheduler_count == 0) {
        TransitionTo(entry,
                     gone && !entry->requested_while_running ? DatabaseState::kNotInstalled : DatabaseState::kIdle);
    } else if (not_installed && entry->state != DatabaseState::kDraining) {
        TransitionTo(entry, DatabaseState::kDraining);
    }
}

// Whether the worker of a STARTING slot is gone without having attached.
bool WorkerGoneBeforeAttaching(const SchedulerRef& ref) {
    if (ref.handle == nullptr)
        return TimestampDifferenceExceeds(ref.started_at, GetCurrentTimestamp(), kUnattachedLimitMs);
    pid_t pid = 0;
    return GetBackgroundWorkerPid(ref.handle, &pid) == BGWH_STOPPED;
}

// Reaps the scheduler at `index` if it left; true if it did.
bool ReapScheduler(DatabaseEntry* entry, int index) {
    const SchedulerRef& ref = entry->schedulers[index];
    SlotExit exit{};
    if (TakeExitedSlot(ref.slot, &exit)) {
        AfterSchedulerExit(entry, index, exit);
        return true;
    }
    // Only a slot still STARTING is freed here: a worker that attached has
    // moved its slot to RUNNING or EXITED before the postmaster reports it
    // stopped, and is reaped through TakeExitedSlot.
    if (WorkerGoneBeforeAttaching(ref) && FreeUnattachedSlot(ref.slot)) {
        AfterSchedulerExit(entry, index, SlotExit{SchedulerExit::kFailed, false, 0});
        return true;
    }
    return false;
}

void ReapSchedulers() {
    ForEachDatabase([](DatabaseEntry* entry) {
        for (int i = entry->scheduler_count - 1; i >= 0; --i) (void)ReapScheduler(entry, i);
    });
}

// --- confirmations ----------------------------------------------------------------

// Whether a scheduler of the database found pg_ivmx installed in a check
// that started after `since`.
bool ConfirmedSince(const DatabaseEntry* entry, TimestampTz since) {
    for (int i = 0; i < entry->scheduler_count; ++i) {
        const TimestampTz confirmed_at = ExtensionConfirmedAt(entry->schedulers[i].slot);
        if (confirmed_at != 0 && confirmed_at > since) return true;
    }
    return false;
}

// PROBING -> ACTIVE once the probe found pg_ivmx; DRAINING -> ACTIVE if a
// remaining scheduler finds it again (dropped and created anew).
void ConfirmedSchedulers() {
    ForEachDatabase([](DatabaseEntry* entry) {
        if (entry->state == DatabaseState::kProbing && ConfirmedSince(entry, 0))
            TransitionTo(entry, DatabaseState::kActive);
        else if (entry->state == DatabaseState::kDraining && ConfirmedSince(entry, entry->state_since))
            TransitionTo(entry, DatabaseState::kActive);
    });
}

// --- probe requests ------------------------------------------------------------

void NoteProbeRequest(DatabaseEntry* entry) {
    entry->expect_installed = true;
    if (entry->scheduler_count > 0) {
        entry->requested_while_running = true;
        return;
    }
    if (entry->state == DatabaseState::kNotInstalled) TransitionTo(entry, DatabaseState::kIdle);
    entry->failures = 0;
    entry->next_start = GetCurrentTimestamp();
}

void ApplyProbeRequests() {
    Oid requested[kMaxProbeRequests];
    bool probe_all = false;
    const int count = TakeProbeRequests(requested, &probe_all);
    for (int i = 0; i < count; ++i) NoteProbeRequest(EnterDatabase(requested[i]));
    if (!probe_all) return;
    ForEachDatabase([](DatabaseEntry* entry) {
        if (entry->state == DatabaseState::kNotInstalled) NoteProbeRequest(entry);
    });
}

// --- scanning pg_database ------------------------------------------------------

// Templates are skipped on purpose: a session in a template database makes
// CREATE DATABASE ... TEMPLATE fail.
bool SchedulerAllowed(Form_pg_database database) {
    return database->datallowconn && !database->datistemplate && !database_is_invalid_form(database);
}

// Entries of databases that are gone (or no longer allowed) are dropped,
// unless a scheduler still holds a slot for them.
void ForgetUnseenDatabases() {
    ForEachDatabase([](DatabaseEntry* entry) {
        if (entry->seen || entry->scheduler_count > 0) return;
        hash_search(g_databases, &entry->database_id, HASH_REMOVE, nullptr);
    });
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
    ForEachDatabase([](DatabaseEntry* entry) { entry->seen = false; });
    ReadDatabases(dropped, dropped_count, present);
    ForgetUnseenDatabases();
    for (int i = 0; i < dropped_count; ++i)
        if (!present[i]) ForgetDroppedBlock(dropped[i]);
}

// --- starting and retiring schedulers -------------------------------------------

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

// Registers one more scheduler for entry's database. Returns nullptr on
// success, else what was missing.
const char* StartScheduler(DatabaseEntry* entry) {
    if (entry->scheduler_count >= kMaxSchedulers) return "too many schedulers";
    const int slot = ReserveSlot(entry->database_id);
    if (slot < 0) return "no free scheduler slot";
    BackgroundWorker worker;
    FillSchedulerWorker(&worker, slot, entry->database_id);
    BackgroundWorkerHandle* handle = nullptr;
    const MemoryContext previous = MemoryContextSwitchTo(g_launcher_context);
    const bool registered = RegisterDynamicBackgroundWorker(&worker, &handle);
    MemoryContextSwitchTo(previous);
    if (!registered) {
        FreeUnattachedSlot(slot);
        return "no free background worker slot";
    }
    entry->schedulers[entry->scheduler_count++] = SchedulerRef{slot, handle, GetCurrentTimestamp(), false};
    return nullptr;
}

// A database gets no scheduler at all: a WARNING, once until a start succeeds.
void WarnNoWorker(DatabaseEntry* entry, const char* what) {
    entry->next_start = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kNoWorkerRetryMs);
    entry->starved = true;
    if (g_warned_no_worker) return;
    g_warned_no_worker = true;
    ereport(WARNING,
            (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
             errmsg("pg_ivmx launcher could not start a scheduler for database %u: %s", entry->database_id, what),
             errhint("Raise max_worker_processes (each database with pg_ivmx needs up to "
                     "ivmx.max_workers_per_database workers).")));
}

// A database runs fewer schedulers than asked: a LOG line, once until it
// has them all.
void NoteShortOfWorkers(DatabaseEntry* entry, int running, int wanted, const char* what) {
    entry->next_start = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kNoWorkerRetryMs);
    if (entry->warned_short) return;
    entry->warned_short = true;
    ereport(LOG, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                  errmsg("pg_ivmx launcher runs %d of %d schedulers for database %u: %s", running, wanted,
                         entry->database_id, what),
                  errhint("Raise max_worker_processes or lower ivmx.max_workers_per_database.")));
}

int WantedSchedulers() {
    const int wanted = MaxWorkersPerDatabase();
    return wanted < 1 ? 1 : (wanted > kMaxSchedulers ? kMaxSchedulers : wanted);
}

int StayingSchedulers(const DatabaseEntry* entry) {
    int staying = 0;
    for (int i = 0; i < entry->scheduler_count; ++i) staying += !entry->schedulers[i].retiring;
    return staying;
}

// Asks the newest schedulers beyond N to leave after their round.
void RetireSurplus(DatabaseEntry* entry, int wanted) {
    int staying = StayingSchedulers(entry);
    for (int i = entry->scheduler_count - 1; i >= 0 && staying > wanted; --i) {
        SchedulerRef& ref = entry->schedulers[i];
        if (ref.retiring) continue;
        ref.retiring = true;
        RequestRetire(ref.slot);
        --staying;
    }
}

int ActiveProbes() {
    int probes = 0;
    ForEachDatabase([&probes](DatabaseEntry* entry) {
        probes += entry->state == DatabaseState::kProbing && !entry->expect_installed;
    });
    return probes;
}

// Databases waiting for a worker for their first scheduler (a start failed
// for want of one; not blocked meanwhile): the others get no more
// schedulers until they have one.
int StarvedDatabases() {
    int starved = 0;
    ForEachDatabase([&starved](DatabaseEntry* entry) {
        starved += entry->state == DatabaseState::kIdle && entry->seen && entry->starved &&
                   !DatabaseBlocked(entry->database_id);
    });
    return starved;
}

int RetiringSchedulers() {
    int retiring = 0;
    ForEachDatabase(
        [&retiring](DatabaseEntry* entry) { retiring += entry->scheduler_count - StayingSchedulers(entry); });
    return retiring;
}

// The ACTIVE database with the most schedulers staying, if it has more than
// one.
DatabaseEntry* RichestDatabase() {
    DatabaseEntry* richest = nullptr;
    int most = 1;
    ForEachDatabase([&](DatabaseEntry* entry) {
        if (entry->state != DatabaseState::kActive) return;
        const int staying = StayingSchedulers(entry);
        if (staying > most) {
            most = staying;
            richest = entry;
        }
    });
    return richest;
}

// Every database gets its first scheduler before any gets another one: for
// each database starved of its first, a database with several gives one up
// (retired after its round). The starved ones then start at the next
// launcher round (a scheduler's exit sets the launcher's latch).
void MakeRoomForFirstSchedulers(int starved, TimestampTz now) {
    int freeing = RetiringSchedulers();
    for (; freeing < starved; ++freeing) {
        DatabaseEntry* richest = RichestDatabase();
        if (richest == nullptr) break;
        elog(LOG, "pg_ivmx launcher retires a scheduler of database %u: another database has none",
             richest->database_id);
        RetireSurplus(richest, StayingSchedulers(richest) - 1);
    }
    if (freeing == 0) return;
    ForEachDatabase([now](DatabaseEntry* entry) {
        if (entry->state == DatabaseState::kIdle && entry->starved) entry->next_start = now;
    });
}

bool MayStart(const DatabaseEntry* entry, TimestampTz now) {
    return entry->seen && entry->next_start <= now && !DatabaseBlocked(entry->database_id);
}

// IDLE -> PROBING: the first scheduler of each database due, until no
// worker is left.
void StartFirstSchedulers(TimestampTz now) {
    int probes = ActiveProbes();
    HASH_SEQ_STATUS status;
    hash_seq_init(&status, g_databases);
    DatabaseEntry* entry;
    while ((entry = static_cast<DatabaseEntry*>(hash_seq_search(&status))) != nullptr) {
        if (entry->state != DatabaseState::kIdle || !MayStart(entry, now)) continue;
        const bool probe = !entry->expect_installed;
        if (probe && probes >= kMaxConcurrentProbes) continue;
        if (const char* missing = StartScheduler(entry)) {
            WarnNoWorker(entry, missing);
            hash_seq_term(&status);
            return;
        }
        g_warned_no_worker = false;
        TransitionTo(entry, DatabaseState::kProbing);
        if (probe) ++probes;
    }
}

// ACTIVE: N schedulers per database (retiring the newest beyond N), the
// missing ones started once no database lacks its first scheduler. A
// database short of workers is left at the first failure.
void AdjustActiveDatabases(TimestampTz now) {
    const int wanted = WantedSchedulers();
    ForEachDatabase([wanted](DatabaseEntry* entry) {
        if (entry->state == DatabaseState::kActive) RetireSurplus(entry, wanted);
    });
    if (const int starved = StarvedDatabases()) {
        MakeRoomForFirstSchedulers(starved, now);
        return;
    }
    HASH_SEQ_STATUS status;
    hash_seq_init(&status, g_databases);
    DatabaseEntry* entry;
    while ((entry = static_cast<DatabaseEntry*>(hash_seq_search(&status))) != nullptr) {
        if (entry->state != DatabaseState::kActive) continue;
        int staying = StayingSchedulers(entry);
        if (staying >= wanted) entry->warned_short = false;
        if (staying >= wanted || !MayStart(entry, now)) continue;
        for (; staying < wanted; ++staying) {
            if (const char* missing = StartScheduler(entry)) {
                NoteShortOfWorkers(entry, staying, wanted, missing);
                hash_seq_term(&status);
                return;
            }
        }
    }
}

// Time until the next entry may start a scheduler. Entries already due but
// held back (probe limit, blocked database) are started when a latch event
// arrives: a probe exiting or a block being released sets the launcher's
// latch.
long NextWakeupMs() {
    long timeout = kLauncherNaptimeMs;
    const TimestampTz now = GetCurrentTimestamp();
    const int wanted = WantedSchedulers();
    ForEachDatabase([&](DatabaseEntry* entry) {
        const bool waiting = entry->state == DatabaseState::kIdle ||
                             (entry->state == DatabaseState::kActive && StayingSchedulers(entry) < wanted);
        if (!waiting || entry->next_start <= now) return;
        const long wait = TimestampDifferenceMilliseconds(now, entry->next_start);
        if (wait < timeout) timeout = wait;
    });
    return timeout;
}

long LauncherRound() {
    ReapSchedulers();
    ApplyProbeRequests();
    ConfirmedSchedulers();
    ScanDatabases();
    const TimestampTz now = GetCurrentTimestamp();
    StartFirstSchedulers(now);
    AdjustActiveDatabases(now);
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
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout, PG_WAIT_EXTENSION);
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
