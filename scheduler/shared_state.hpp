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
//     database oid, state, pid, procno, and two wake flags.
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
};

struct SchedulerSlot {
    Oid database_id;
    SlotState state;
    SchedulerExit exit_reason;
    bool stop_requested;       // leave now; set by BlockDatabase()
    bool extension_confirmed;  // the scheduler found pg_ivmx installed
    pid_t pid;                 // 0 unless kRunning
    int procno;                // INVALID_PGPROCNO unless kRunning
    TimestampTz attached_at;
    pg_atomic_uint32 wake_requested;     // a writer committed deferred changes
    pg_atomic_uint32 recheck_extension;  // DROP EXTENSION pg_ivmx committed
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

// Whether the scheduler in slot i has found pg_ivmx installed (it is then a
// scheduler, no longer a probe).
bool ExtensionConfirmed(int i);

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

// Records that pg_ivmx is installed in the scheduler's database.
void ConfirmExtension(int i);

// Whether a DROP DATABASE (or similar) asked this scheduler to leave.
bool StopRequested(int i);

// Reads and clears the slot's flags (atomics, no lock).
bool TakeWakeRequest(int i);
bool TakeRecheckRequest(int i);

// --- any backend -------------------------------------------------------------

// Wakes the scheduler of database_id, if one runs. With recheck_extension,
// it also makes it check at once whether pg_ivmx is still installed.
// Hot path of committing writers: one shared lock, a scan of the slots, one
// atomic exchange and at most one SetLatch.
void WakeScheduler(Oid database_id, bool recheck_extension);

// Asks the launcher to (re)consider database_id: a scheduler is started if
// none runs, even if an earlier one found pg_ivmx missing.
void RequestProbe(Oid database_id);

// Blocks database_id for the calling backend (no scheduler starts there) and
// sends SIGTERM to the scheduler attached to it, if any. Returns false if the
// block table is full (the scheduler is still asked to stop).
bool BlockDatabase(Oid database_id);

// Whether a scheduler of database_id is starting or running.
bool SchedulerActive(Oid database_id);

// Releases the calling backend's block of database_id. If dropped, the block
// stays (owner 0) until the launcher sees the database gone.
void ReleaseDatabaseBlock(Oid database_id, bool dropped);

}  // namespace ivmx::pg
