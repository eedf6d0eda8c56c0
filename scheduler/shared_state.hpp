// Shared memory of pg_ivmx's background workers.
//
// One struct, created in the postmaster (shmem_startup_hook) and guarded by
// one LWLock of the "pg_ivmx" tranche. It holds plain data only:
//
//   * the launcher's pid and procno (its latch is that PGPROC's procLatch);
//   * a queue of "probe this database" requests (CREATE EXTENSION pg_ivmx);
//   * database blocks: databases a command needs exclusive access to
//     (DROP DATABASE, ...), where no scheduler may run meanwhile;
//   * one slot per scheduler that is starting, running or just exited:
//     database oid, state, pid, procno, the IMMV it is refreshing, and its
//     wake flags. A database has up to ivmx.max_workers_per_database
//     schedulers, each in a slot of its own.
//
// The functions below are the only code that touches the struct; each takes
// and releases the lock itself, never raises an error while holding it, and
// is a no-op (or returns "nothing") when the library was not preloaded.
#pragma once

#include "ivmx/pg/bgworker.hpp"

namespace ivmx::pg {

// State of one scheduler slot. The launcher moves kFree -> kStarting and
// kExited -> kFree; the scheduler moves kStarting -> kRunning -> kExited.
enum class SlotState : uint8 {
    kFree,      // unused; database_id is InvalidOid
    kStarting,  // reserved by the launcher, worker registered, not attached yet
    kRunning,   // the scheduler attached: pid and procno are valid
    kExited,    // the scheduler left; exit_reason says why
};

// Why a scheduler left its slot; decides what the launcher does next.
enum class SchedulerExit : uint8 {
    kNone,          // nothing recorded: handled as kFailed
    kNotInstalled,  // pg_ivmx is not (or no longer) installed in the database
    kTerminated,    // SIGTERM that pg_ivmx did not ask for (pg_terminate_backend)
    kStopped,       // pg_ivmx asked it to leave (DROP DATABASE and the like)
    kFailed,        // an error ended it, or it never attached
    kRetired,       // the launcher asked it to leave: more workers than configured
};

struct SchedulerSlot {
    Oid database_id;
    SlotState state;
    SchedulerExit exit_reason;
    bool stop_requested;       // leave now; set by BlockDatabase()
    bool retire_requested;     // leave after the current round; set by the launcher
    TimestampTz confirmed_at;  // last time the scheduler found pg_ivmx installed (0: never)
    pid_t pid;                 // 0 unless kRunning
    int procno;                // INVALID_PGPROCNO unless kRunning
    TimestampTz attached_at;
    Oid refreshing;                      // the IMMV it refreshes right now (ClaimImmv), or InvalidOid
    pg_atomic_uint32 wake_requested;     // a writer committed deferred changes
    pg_atomic_uint32 recheck_extension;  // DROP EXTENSION pg_ivmx committed
    pg_atomic_uint32 in_round;           // between the start and the end of a round
};

// A database that a running command needs without other sessions.
struct DatabaseBlock {
    Oid database_id;  // InvalidOid: unused entry
    pid_t owner_pid;  // 0 once a DROP DATABASE committed (kept until it is gone)
};

inline constexpr int kMaxProbeRequests = 32;
inline constexpr int kMaxDatabaseBlocks = 16;

struct SchedulerSharedState {
    LWLock* lock;
    pid_t launcher_pid;  // 0 when no launcher runs
    int launcher_procno;
    bool probe_all_requested;  // the request queue overflowed
    int num_probe_requests;
    Oid probe_requests[kMaxProbeRequests];
    DatabaseBlock blocks[kMaxDatabaseBlocks];
    int num_slots;  // max_worker_processes
    SchedulerSlot slots[FLEXIBLE_ARRAY_MEMBER];
};

// What the launcher learns when it frees the slot of a scheduler that left.
struct SlotExit {
    SchedulerExit reason;
    bool extension_confirmed;
    TimestampTz attached_at;  // 0 if it never attached
};

// Installs shmem_request_hook and shmem_startup_hook (from _PG_init, only
// while shared_preload_libraries is processed).
void InstallSharedStateHooks();

// Whether the shared state exists (the library was preloaded).
bool SharedStateAvailable();

// --- launcher side -----------------------------------------------------------

// Records the calling process as the launcher; cleared when it exits.
void AttachLauncher();

// Sets the launcher's latch (any process).
void WakeLauncher();

// Reserves a free slot for a scheduler of database_id: kStarting. Returns its
// index, or -1 if every slot is in use.
int ReserveSlot(Oid database_id);

// Number of slots (max_worker_processes); 0 without shared state.
int SlotCount();

// The database and state of slot i, read under the lock.
SlotState ReadSlot(int i, Oid* database_id);

// If slot i is kExited: frees it, fills *exit and returns true.
bool TakeExitedSlot(int i, SlotExit* exit);

// When the scheduler in slot i last found pg_ivmx installed (it is then a
// scheduler, no longer a probe); 0 if it never did.
TimestampTz ExtensionConfirmedAt(int i);

// Asks the scheduler in slot i to leave after its current round (exit
// kRetired): its database has more schedulers than configured.
void RequestRetire(int i);

// If slot i is still kStarting (its worker never attached): frees it and
// returns true. The caller knows the worker is gone.
bool FreeUnattachedSlot(int i);

// Empties the request queue into out[kMaxProbeRequests]; returns the count
// and sets *probe_all if the queue had overflowed.
int TakeProbeRequests(Oid* out, bool* probe_all);

// Whether a command holds database_id for itself (no scheduler may start).
bool DatabaseBlocked(Oid database_id);

// Databases whose DROP DATABASE committed; out has kMaxDatabaseBlocks entries.
int DroppedDatabaseBlocks(Oid* out);

// Forgets the committed DROP DATABASE block of database_id.
void ForgetDroppedBlock(Oid database_id);

// --- scheduler side ----------------------------------------------------------

// The scheduler's SIGTERM handler: remembers the signal (so that the exit
// callback records kTerminated even when the FATAL of a CHECK_FOR_INTERRUPTS
// ends the process) and then behaves as PostgreSQL's die().
void SchedulerSigtermHandler(SIGNAL_ARGS);

// Attaches the calling worker to slot i, reserved for database_id. Returns
// false (after marking the slot kExited/kStopped) if it was asked to stop
// before it attached, or if the slot is not what the launcher reserved.
// Registers the exit callback that moves the slot to kExited.
bool AttachScheduler(int i, Oid database_id);

// Records why the scheduler is about to exit.
void SetSchedulerExit(int i, SchedulerExit reason);

// Records that pg_ivmx is installed in the scheduler's database, as seen by
// a check that started at checked_at. The first confirmation wakes the
// launcher, which then starts the database's other schedulers.
void ConfirmExtension(int i, TimestampTz checked_at);

// Whether a DROP DATABASE (or similar) asked this scheduler to leave.
bool StopRequested(int i);

// Whether the launcher asked this scheduler to leave (RequestRetire).
bool RetireRequested(int i);

// A retiring scheduler hands a wake-up it has not served (a writer may have
// set its latch just before the launcher retired it) to another scheduler of
// its database.
void PassOnWakeRequest(int i);

// Marks the start (true) and the end (false) of a round. A scheduler in a
// round sees the wake flag when the round ends; WakeScheduler sets the latch
// of one that is not in a round.
void SetInRound(int i, bool in_round);

// Reads and clears the slot's flags (atomics, no lock).
bool TakeWakeRequest(int i);
bool TakeRecheckRequest(int i);

// --- the schedulers of one database sharing its IMMVs ---------------------------
// These act on the calling scheduler's own slot; in any other process they
// do nothing (ClaimImmv returns true, DatabaseSchedulerRank 0 of 1).

// Claims immv for the calling scheduler's refresh, unless another scheduler
// of the database is refreshing immv or one of upstream[0..upstream_count)
// (the deferred IMMVs immv reads) right now. A scheduler holds one claim at
// a time; a new claim replaces the previous one.
bool ClaimImmv(Oid immv, const Oid* upstream, int upstream_count);

// Gives up the calling scheduler's claim.
void ReleaseImmv();

// The calling scheduler's place among the schedulers (starting or running)
// of its database: *rank counts those in lower slots, *count all of them.
void DatabaseSchedulerRank(int* rank, int* count);

// --- any backend -------------------------------------------------------------

// Wakes the schedulers of database_id, if any run: every one gets its wake
// flag (one in a round runs another round when it ends), and the latch of
// the first one out of its round is set: while one is busy with a slow
// refresh, another serves the commits. Called by a scheduler (which is in a
// round itself), it only sets its own flag. With recheck_extension, every
// one is woken and checks at once whether pg_ivmx is still installed.
// Hot path of committing writers: one shared lock, a scan of the slots, an
// atomic exchange per scheduler of the database and at most one SetLatch.
void WakeScheduler(Oid database_id, bool recheck_extension);

// Asks the launcher to (re)consider database_id: a scheduler is started if
// none runs, even if an earlier one found pg_ivmx missing.
void RequestProbe(Oid database_id);

// Blocks database_id for the calling backend (no scheduler starts there) and
// sends SIGTERM to every scheduler attached to it. Returns false if the
// block table is full (the scheduler is still asked to stop).
bool BlockDatabase(Oid database_id);

// Whether a scheduler of database_id is starting or running.
bool SchedulerActive(Oid database_id);

// Releases the calling backend's block of database_id. If dropped, the block
// stays (owner 0) until the launcher sees the database gone.
void ReleaseDatabaseBlock(Oid database_id, bool dropped);

}  // namespace ivmx::pg
