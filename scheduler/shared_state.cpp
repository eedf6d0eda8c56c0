// Shared memory of pg_ivmx's background workers (see shared_state.hpp for the
// layout and the rules). PostgreSQL 15: space and the LWLock are requested in
// shmem_request_hook and the struct is created in shmem_startup_hook, under
// AddinShmemInitLock.
//
// Every function here is C-shaped: plain locals, PostgreSQL calls that do not
// raise errors while our lock is held.
#include "shared_state.hpp"

#include <csignal>

namespace ivmx::pg {

namespace {

constexpr const char* kTrancheName = "pg_ivmx";
constexpr const char* kStructName = "pg_ivmx scheduler state";

shmem_request_hook_type g_previous_request_hook = nullptr;
shmem_startup_hook_type g_previous_startup_hook = nullptr;
SchedulerSharedState* g_state = nullptr;
volatile sig_atomic_t g_sigterm_received = false;
int g_my_slot = -1;  // the calling process's slot, if it is an attached scheduler

Size SharedStateSize() {
    return add_size(offsetof(SchedulerSharedState, slots), mul_size(sizeof(SchedulerSlot), max_worker_processes));
}

void RequestSharedState() {
    if (g_previous_request_hook != nullptr) g_previous_request_hook();
    RequestAddinShmemSpace(SharedStateSize());
    RequestNamedLWLockTranche(kTrancheName, 1);
}

void ClearSlot(SchedulerSlot* slot) {
    slot->database_id = InvalidOid;
    slot->state = SlotState::kFree;
    slot->exit_reason = SchedulerExit::kNone;
    slot->stop_requested = false;
    slot->retire_requested = false;
    slot->confirmed_at = 0;
    slot->pid = 0;
    slot->procno = INVALID_PGPROCNO;
    slot->attached_at = 0;
    slot->refreshing = InvalidOid;
    pg_atomic_write_u32(&slot->wake_requested, 0);
    pg_atomic_write_u32(&slot->recheck_extension, 0);
    pg_atomic_write_u32(&slot->in_round, 0);
}

void InitializeState(SchedulerSharedState* state) {
    state->lock = &(GetNamedLWLockTranche(kTrancheName))->lock;
    state->launcher_pid = 0;
    state->launcher_procno = INVALID_PGPROCNO;
    state->probe_all_requested = false;
    state->num_probe_requests = 0;
    for (DatabaseBlock& block : state->blocks) block = DatabaseBlock{InvalidOid, 0};
    state->num_slots = max_worker_processes;
    for (int i = 0; i < state->num_slots; ++i) {
        pg_atomic_init_u32(&state->slots[i].wake_requested, 0);
        pg_atomic_init_u32(&state->slots[i].recheck_extension, 0);
        pg_atomic_init_u32(&state->slots[i].in_round, 0);
        ClearSlot(&state->slots[i]);
    }
}

// Also runs again after a crash restart of the postmaster: the memory is new.
void StartupSharedState() {
    if (g_previous_startup_hook != nullptr) g_previous_startup_hook();
    bool found = false;
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    g_state = static_cast<SchedulerSharedState*>(ShmemInitStruct(kStructName, SharedStateSize(), &found));
    if (!found) InitializeState(g_state);
    LWLockRelease(AddinShmemInitLock);
}

SchedulerSlot* Slot(int i) {
    return &g_state->slots[i];
}

bool ValidSlot(int i) {
    return g_state != nullptr && i >= 0 && i < g_state->num_slots;
}

bool SlotLive(const SchedulerSlot* slot) {
    return slot->state == SlotState::kStarting || slot->state == SlotState::kRunning;
}

void SetLatchOfProc(int procno) {
    if (procno != INVALID_PGPROCNO) SetLatch(&GetPGProcByNumber(procno)->procLatch);
}

// Every scheduler of the database but `except` gets the wake flag: one in a
// round runs another round when it ends (SetInRound). The exchange is a full
// barrier, so a round that starts after it (the scheduler clears the flag
// first) sees the commit. The latch is set of the first running scheduler
// out of its round (and not about to retire; SetLatch returns at once when
// the latch is set already): one stuck in a slow refresh does not hold the
// commit up. Only one: the others would run rounds finding nothing left to
// do. (The flag of one out of its round that is not woken only makes it run
// a round when it wakes anyway.) A starting scheduler runs a round right
// after attaching. Caller holds the lock (shared is enough).
void WakeSchedulersLocked(Oid database_id, bool recheck_extension, int except) {
    bool woken = false;
    for (int i = 0; i < g_state->num_slots; ++i) {
        SchedulerSlot* slot = Slot(i);
        if (i == except || slot->database_id != database_id || !SlotLive(slot)) continue;
        if (recheck_extension) pg_atomic_write_u32(&slot->recheck_extension, 1);
        (void)pg_atomic_exchange_u32(&slot->wake_requested, 1);
        if (recheck_extension) {
            SetLatchOfProc(slot->procno);
            continue;
        }
        if (woken || slot->retire_requested || slot->state != SlotState::kRunning ||
            pg_atomic_read_u32(&slot->in_round) != 0)
            continue;
        SetLatchOfProc(slot->procno);
        woken = true;
    }
}

// on_shmem_exit callback of the launcher.
void DetachLauncher(int code, Datum arg) {
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    if (g_state->launcher_pid == MyProcPid) {
        g_state->launcher_pid = 0;
        g_state->launcher_procno = INVALID_PGPROCNO;
    }
    LWLockRelease(g_state->lock);
}

// Why the calling scheduler is exiting, if it recorded nothing itself.
SchedulerExit InferredExit(const SchedulerSlot* slot) {
    if (slot->exit_reason != SchedulerExit::kNone) return slot->exit_reason;
    if (slot->stop_requested) return SchedulerExit::kStopped;
    if (g_sigterm_received) return SchedulerExit::kTerminated;
    return SchedulerExit::kFailed;
}

// on_shmem_exit callback of a scheduler: registered before the database
// connection, so it runs after the process left the ProcArray (callbacks run
// in reverse order) — a DROP DATABASE waiting for kExited then finds no
// other session in the database.
void DetachScheduler(int code, Datum arg) {
    const int i = DatumGetInt32(arg);
    int launcher_procno = INVALID_PGPROCNO;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    SchedulerSlot* slot = Slot(i);
    if (slot->state == SlotState::kRunning && slot->pid == MyProcPid) {
        slot->exit_reason = InferredExit(slot);
        slot->state = SlotState::kExited;
        slot->pid = 0;
        slot->procno = INVALID_PGPROCNO;
        slot->refreshing = InvalidOid;
    }
    launcher_procno = g_state->launcher_procno;
    LWLockRelease(g_state->lock);
    SetLatchOfProc(launcher_procno);
}

}  // namespace

void InstallSharedStateHooks() {
    g_previous_request_hook = shmem_request_hook;
    shmem_request_hook = RequestSharedState;
    g_previous_startup_hook = shmem_startup_hook;
    shmem_startup_hook = StartupSharedState;
}

bool SharedStateAvailable() {
    return g_state != nullptr;
}

// --- launcher side -----------------------------------------------------------

void AttachLauncher() {
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    g_state->launcher_pid = MyProcPid;
    g_state->launcher_procno = MyProc->pgprocno;
    LWLockRelease(g_state->lock);
    on_shmem_exit(DetachLauncher, (Datum)0);
}

void WakeLauncher() {
    if (g_state == nullptr) return;
    LWLockAcquire(g_state->lock, LW_SHARED);
    SetLatchOfProc(g_state->launcher_procno);
    LWLockRelease(g_state->lock);
}

int ReserveSlot(Oid database_id) {
    int reserved = -1;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    for (int i = 0; i < g_state->num_slots && reserved < 0; ++i) {
        SchedulerSlot* slot = Slot(i);
        if (slot->state != SlotState::kFree) continue;
        ClearSlot(slot);
        slot->database_id = database_id;
        slot->state = SlotState::kStarting;
        reserved = i;
    }
    LWLockRelease(g_state->lock);
    return reserved;
}

int SlotCount() {
    return g_state != nullptr ? g_state->num_slots : 0;
}

SlotState ReadSlot(int i, Oid* database_id) {
    LWLockAcquire(g_state->lock, LW_SHARED);
    const SlotState state = Slot(i)->state;
    *database_id = Slot(i)->database_id;
    LWLockRelease(g_state->lock);
    return state;
}

bool TakeExitedSlot(int i, SlotExit* exit) {
    bool taken = false;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    SchedulerSlot* slot = Slot(i);
    if (slot->state == SlotState::kExited) {
        const SchedulerExit reason =
            slot->exit_reason == SchedulerExit::kNone ? SchedulerExit::kFailed : slot->exit_reason;
        *exit = SlotExit{reason, slot->confirmed_at != 0, slot->attached_at};
        ClearSlot(slot);
        taken = true;
    }
    LWLockRelease(g_state->lock);
    return taken;
}

bool FreeUnattachedSlot(int i) {
    bool freed = false;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    if (Slot(i)->state == SlotState::kStarting) {
        ClearSlot(Slot(i));
        freed = true;
    }
    LWLockRelease(g_state->lock);
    return freed;
}

int TakeProbeRequests(Oid* out, bool* probe_all) {
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    const int count = g_state->num_probe_requests;
    for (int i = 0; i < count; ++i) out[i] = g_state->probe_requests[i];
    *probe_all = g_state->probe_all_requested;
    g_state->num_probe_requests = 0;
    g_state->probe_all_requested = false;
    LWLockRelease(g_state->lock);
    return count;
}

bool DatabaseBlocked(Oid database_id) {
    bool blocked = false;
    LWLockAcquire(g_state->lock, LW_SHARED);
    for (const DatabaseBlock& block : g_state->blocks)
        if (block.database_id == database_id) blocked = true;
    LWLockRelease(g_state->lock);
    return blocked;
}

int DroppedDatabaseBlocks(Oid* out) {
    int count = 0;
    LWLockAcquire(g_state->lock, LW_SHARED);
    for (const DatabaseBlock& block : g_state->blocks)
        if (OidIsValid(block.database_id) && block.owner_pid == 0) out[count++] = block.database_id;
    LWLockRelease(g_state->lock);
    return count;
}

void ForgetDroppedBlock(Oid database_id) {
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    for (DatabaseBlock& block : g_state->blocks)
        if (block.database_id == database_id && block.owner_pid == 0) block = DatabaseBlock{InvalidOid, 0};
    LWLockRelease(g_state->lock);
}

// --- scheduler side ----------------------------------------------------------

void SchedulerSigtermHandler(SIGNAL_ARGS) {
    g_sigterm_received = true;
    die(postgres_signal_arg);
}

bool AttachScheduler(int i, Oid database_id) {
    if (!ValidSlot(i)) return false;
    bool attached = false;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    SchedulerSlot* slot = Slot(i);
    if (slot->state == SlotState::kStarting && slot->database_id == database_id) {
        if (slot->stop_requested) {
            slot->state = SlotState::kExited;
            slot->exit_reason = SchedulerExit::kStopped;
        } else {
            slot->state = SlotState::kRunning;
            slot->pid = MyProcPid;
            slot->procno = MyProc->pgprocno;
            slot->attached_at = GetCurrentTimestamp();
            attached = true;
        }
    }
    LWLockRelease(g_state->lock);
    if (attached) {
        g_my_slot = i;
        on_shmem_exit(DetachScheduler, Int32GetDatum(i));
    } else {
        WakeLauncher();
    }
    return attached;
}

void SetSchedulerExit(int i, SchedulerExit reason) {
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    if (Slot(i)->pid == MyProcPid) Slot(i)->exit_reason = reason;
    LWLockRelease(g_state->lock);
}

void ConfirmExtension(int i, TimestampTz checked_at) {
    bool first = false;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    SchedulerSlot* slot = Slot(i);
    if (slot->pid == MyProcPid) {
        first = slot->confirmed_at == 0;
        slot->confirmed_at = checked_at;
    }
    const int launcher_procno = g_state->launcher_procno;
    LWLockRelease(g_state->lock);
    if (first) SetLatchOfProc(launcher_procno);
}

TimestampTz ExtensionConfirmedAt(int i) {
    LWLockAcquire(g_state->lock, LW_SHARED);
    const TimestampTz confirmed_at = Slot(i)->confirmed_at;
    LWLockRelease(g_state->lock);
    return confirmed_at;
}

void RequestRetire(int i) {
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    SchedulerSlot* slot = Slot(i);
    if (SlotLive(slot)) {
        slot->retire_requested = true;
        SetLatchOfProc(slot->procno);
    }
    LWLockRelease(g_state->lock);
}

bool StopRequested(int i) {
    LWLockAcquire(g_state->lock, LW_SHARED);
    const bool requested = Slot(i)->stop_requested;
    LWLockRelease(g_state->lock);
    return requested;
}

bool RetireRequested(int i) {
    LWLockAcquire(g_state->lock, LW_SHARED);
    const bool requested = Slot(i)->retire_requested;
    LWLockRelease(g_state->lock);
    return requested;
}

void PassOnWakeRequest(int i) {
    if (!TakeWakeRequest(i)) return;
    LWLockAcquire(g_state->lock, LW_SHARED);
    WakeSchedulersLocked(Slot(i)->database_id, false, i);
    LWLockRelease(g_state->lock);
}

// in_round and wake_requested form a Dekker pair: each side writes its own
// flag, then (after a full barrier) reads the other's. Leaving a round, the
// scheduler clears in_round and then takes its wake flag; a waker
// (WakeSchedulersLocked) sets the wake flag and then reads in_round. Either
// the scheduler takes the flag (and runs another round at once), or the
// waker sees it out of its round (and may set its latch).
void SetInRound(int i, bool in_round) {
    pg_atomic_write_u32(&Slot(i)->in_round, in_round ? 1 : 0);
    pg_memory_barrier();
}

bool TakeWakeRequest(int i) {
    return pg_atomic_exchange_u32(&Slot(i)->wake_requested, 0) != 0;
}

bool TakeRecheckRequest(int i) {
    return pg_atomic_exchange_u32(&Slot(i)->recheck_extension, 0) != 0;
}

// --- the schedulers of one database sharing its IMMVs ---------------------------

bool ClaimImmv(Oid immv, const Oid* upstream, int upstream_count) {
    if (g_state == nullptr || g_my_slot < 0) return true;
    bool claimed = true;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    SchedulerSlot* mine = Slot(g_my_slot);
    for (int i = 0; i < g_state->num_slots && claimed; ++i) {
        const SchedulerSlot* other = Slot(i);
        if (i == g_my_slot || other->state != SlotState::kRunning || other->database_id != mine->database_id ||
            !OidIsValid(other->refreshing))
            continue;
        if (other->refreshing == immv) claimed = false;
        for (int u = 0; u < upstream_count && claimed; ++u)
            if (other->refreshing == upstream[u]) claimed = false;
    }
    mine->refreshing = claimed ? immv : InvalidOid;
    LWLockRelease(g_state->lock);
    return claimed;
}

void ReleaseImmv() {
    if (g_state == nullptr || g_my_slot < 0) return;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    Slot(g_my_slot)->refreshing = InvalidOid;
    LWLockRelease(g_state->lock);
}

void DatabaseSchedulerRank(int* rank, int* count) {
    *rank = 0;
    *count = 1;
    if (g_state == nullptr || g_my_slot < 0) return;
    LWLockAcquire(g_state->lock, LW_SHARED);
    const Oid database_id = Slot(g_my_slot)->database_id;
    int below = 0;
    int all = 0;
    for (int i = 0; i < g_state->num_slots; ++i) {
        const SchedulerSlot* slot = Slot(i);
        if (slot->database_id != database_id || !SlotLive(slot)) continue;
        ++all;
        if (i < g_my_slot) ++below;
    }
    LWLockRelease(g_state->lock);
    *rank = below;
    *count = all > 0 ? all : 1;
}

// --- any backend -------------------------------------------------------------

void WakeScheduler(Oid database_id, bool recheck_extension) {
    if (g_state == nullptr) return;
    // A scheduler's own commit (a refresh that logged changes for the IMMVs
    // reading its IMMV) needs no other worker: it is in a round, and runs
    // another one when it ends.
    if (g_my_slot >= 0 && !recheck_extension) {
        pg_atomic_write_u32(&Slot(g_my_slot)->wake_requested, 1);
        return;
    }
    LWLockAcquire(g_state->lock, LW_SHARED);
    WakeSchedulersLocked(database_id, recheck_extension, -1);
    LWLockRelease(g_state->lock);
}

void RequestProbe(Oid database_id) {
    if (g_state == nullptr) return;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    if (g_state->num_probe_requests < kMaxProbeRequests)
        g_state->probe_requests[g_state->num_probe_requests++] = database_id;
    else
        g_state->probe_all_requested = true;
    SetLatchOfProc(g_state->launcher_procno);
    LWLockRelease(g_state->lock);
}

bool BlockDatabase(Oid database_id) {
    if (g_state == nullptr) return false;
    bool recorded = false;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    for (DatabaseBlock& block : g_state->blocks) {
        if (recorded || OidIsValid(block.database_id)) continue;
        block = DatabaseBlock{database_id, MyProcPid};
        recorded = true;
    }
    for (int i = 0; i < g_state->num_slots; ++i) {
        SchedulerSlot* slot = Slot(i);
        if (slot->database_id != database_id || !SlotLive(slot)) continue;
        slot->stop_requested = true;
        // Under the lock the scheduler cannot detach, so its pid is still its own.
        if (slot->pid != 0) kill(slot->pid, SIGTERM);
    }
    LWLockRelease(g_state->lock);
    return recorded;
}

bool SchedulerActive(Oid database_id) {
    bool active = false;
    LWLockAcquire(g_state->lock, LW_SHARED);
    for (int i = 0; i < g_state->num_slots; ++i) {
        const SchedulerSlot* slot = Slot(i);
        if (slot->database_id == database_id && SlotLive(slot)) active = true;
    }
    LWLockRelease(g_state->lock);
    return active;
}

void ReleaseDatabaseBlock(Oid database_id, bool dropped) {
    if (g_state == nullptr) return;
    LWLockAcquire(g_state->lock, LW_EXCLUSIVE);
    for (DatabaseBlock& block : g_state->blocks) {
        if (block.database_id != database_id || block.owner_pid != MyProcPid) continue;
        block = dropped ? DatabaseBlock{database_id, 0} : DatabaseBlock{InvalidOid, 0};
    }
    SetLatchOfProc(g_state->launcher_procno);
    LWLockRelease(g_state->lock);
}

}  // namespace ivmx::pg
