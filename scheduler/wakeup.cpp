// Messages from ordinary backends to the background workers, delivered when
// the backend's transaction commits:
//
//   * NoteDeferredChange(): a writer logged changes for deferred IMMVs; at
//     commit a scheduler of this database that is not busy is woken (its
//     latch is set; see WakeScheduler).
//   * CREATE EXTENSION pg_ivmx: at commit the launcher is asked to start a
//     scheduler here, even if an earlier one found the extension missing.
//   * DROP EXTENSION pg_ivmx / DROP SCHEMA: at commit every scheduler of the
//     database is woken and rechecks at once that the extension is still
//     there.
//   * CREATE DATABASE: at commit the launcher rescans pg_database.
//   * DROP DATABASE and the other commands that need a database without other
//     sessions: before they run, every scheduler attached to that database
//     is stopped and the database blocked (see SchedulerBeforeUtility); the
//     block is released when the transaction ends.
//
// Deliveries wait for commit because a worker woken earlier would not see the
// committing transaction's rows (XACT_EVENT_COMMIT fires after the commit is
// visible to new snapshots). On abort, everything pending is dropped.
#include "../extension/pg_util.hpp"
#include "shared_state.hpp"
#include "wakeup.hpp"
#include "workers.hpp"

namespace ivmx::pg {

namespace {

// How long a command that needs a database alone waits for its schedulers.
constexpr long kStopWaitMs = 5000;
constexpr long kStopPollMs = 10;

// What the current transaction will tell the workers when it commits.
// Backend-local plain data.
struct PendingAtCommit {
    bool wake_scheduler;
    bool recheck_extension;
    bool probe_database;
    bool wake_launcher;
    Oid blocked_database;  // InvalidOid: none
    bool blocked_database_dropped;
};

PendingAtCommit g_pending = {};

void ReleaseBlock(const PendingAtCommit& pending, bool committed) {
    if (!OidIsValid(pending.blocked_database)) return;
    ReleaseDatabaseBlock(pending.blocked_database, committed && pending.blocked_database_dropped);
}

// Runs after the commit record and ProcArray update: must not raise errors.
void DeliverPending() {
    const PendingAtCommit pending = g_pending;
    g_pending = PendingAtCommit{};
    if (pending.wake_scheduler || pending.recheck_extension) WakeScheduler(MyDatabaseId, pending.recheck_extension);
    if (pending.probe_database) RequestProbe(MyDatabaseId);
    ReleaseBlock(pending, true);
    if (pending.wake_launcher) WakeLauncher();
}

void DiscardPending() {
    const PendingAtCommit pending = g_pending;
    g_pending = PendingAtCommit{};
    ReleaseBlock(pending, false);
}

// A prepared transaction commits later, maybe in another session: its
// changes are picked up by the scheduler's next timed round. Called after
// the commit or during the abort, where an ERROR is not allowed: C-shaped
// (plain data, PostgreSQL calls that raise no error), under CallbackGuard
// all the same.
void OnXactEvent(XactEvent event, void* arg) {
    switch (event) {
        case XACT_EVENT_COMMIT:
            CallbackGuard("pg_ivmx wake-up at commit", [] { DeliverPending(); });
            break;
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PREPARE:
            CallbackGuard("pg_ivmx wake-up at abort or prepare", [] { DiscardPending(); });
            break;
        default:
            break;
    }
}

bool IsPgIvmx(const char* extname) {
    return extname != nullptr && strcmp(extname, "pg_ivmx") == 0;
}

// DROP EXTENSION naming pg_ivmx, or DROP SCHEMA (which may cascade to it).
bool MayDropPgIvmx(const DropStmt* stmt) {
    if (stmt->removeType == OBJECT_SCHEMA) return true;
    if (stmt->removeType != OBJECT_EXTENSION) return false;
    ListCell* lc;
    foreach (lc, stmt->objects) {
        if (IsA(lfirst(lc), String) && IsPgIvmx(strVal(lfirst(lc)))) return true;
    }
    return false;
}

// The string value of option name in a DefElem list, or nullptr.
const char* OptionString(List* options, const char* name) {
    ListCell* lc;
    foreach (lc, options) {
        const DefElem* option = lfirst_node(DefElem, lc);
        if (strcmp(option->defname, name) == 0 && option->arg != nullptr && IsA(option->arg, String))
            return strVal(option->arg);
    }
    return nullptr;
}

Oid DatabaseOid(const char* name) {
    return name != nullptr ? get_database_oid(name, true) : InvalidOid;
}

// The database that the command needs without other sessions, if any.
Oid DatabaseNeededAlone(Node* parsetree, bool* drops_it) {
    *drops_it = false;
    switch (nodeTag(parsetree)) {
        case T_DropdbStmt:
            *drops_it = true;
            return DatabaseOid(castNode(DropdbStmt, parsetree)->dbname);
        case T_RenameStmt: {
            const RenameStmt* stmt = castNode(RenameStmt, parsetree);
            return stmt->renameType == OBJECT_DATABASE ? DatabaseOid(stmt->subname) : InvalidOid;
        }
        case T_AlterDatabaseStmt: {
            const AlterDatabaseStmt* stmt = castNode(AlterDatabaseStmt, parsetree);
            return OptionString(stmt->options, "tablespace") != nullptr ? DatabaseOid(stmt->dbname) : InvalidOid;
        }
        case T_CreatedbStmt:
            return DatabaseOid(OptionString(castNode(CreatedbStmt, parsetree)->options, "template"));
        default:
            return InvalidOid;
    }
}

// Waits (bounded) until no scheduler is starting or running in database_id.
void WaitForSchedulerExit(Oid database_id) {
    const TimestampTz start = GetCurrentTimestamp();
    while (SchedulerActive(database_id)) {
        if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), kStopWaitMs)) {
            ereport(WARNING,
                    (errmsg("pg_ivmx schedulers of database %u did not exit within %ld ms", database_id, kStopWaitMs)));
            return;
        }
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kStopPollMs, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    }
}

// Stops the schedulers of database_id and blocks it until the transaction
// ends. Only for the database's owner (or a superuser): anyone else's command
// fails its own permission check, and must not disturb the scheduler first.
void StopSchedulerForCommand(Oid database_id, bool drops_it) {
    if (!pg_database_ownercheck(database_id, GetUserId())) return;
    // Only ALTER DATABASE RENAME can run twice in one transaction; the first
    // rename is done, so its database may get its scheduler back early.
    if (OidIsValid(g_pending.blocked_database)) {
        ReleaseDatabaseBlock(g_pending.blocked_database, false);
        g_pending.blocked_database = InvalidOid;
    }
    if (BlockDatabase(database_id)) {
        g_pending.blocked_database = database_id;
        g_pending.blocked_database_dropped = drops_it;
    }
    WaitForSchedulerExit(database_id);
}

}  // namespace

void NoteDeferredChange() {
    g_pending.wake_scheduler = true;
}

void RegisterWakeupCallback() {
    RegisterXactCallback(OnXactEvent, nullptr);
}

void SchedulerBeforeUtility(Node* parsetree) {
    if (!SharedStateAvailable()) return;
    bool drops_it = false;
    const Oid database_id = DatabaseNeededAlone(parsetree, &drops_it);
    if (OidIsValid(database_id)) StopSchedulerForCommand(database_id, drops_it);
}

void SchedulerAfterUtility(Node* parsetree) {
    if (!SharedStateAvailable()) return;
    if (IsA(parsetree, CreateExtensionStmt) && IsPgIvmx(castNode(CreateExtensionStmt, parsetree)->extname))
        g_pending.probe_database = true;
    else if (IsA(parsetree, DropStmt) && MayDropPgIvmx(castNode(DropStmt, parsetree)))
        g_pending.recheck_extension = true;
    else if (IsA(parsetree, CreatedbStmt))
        g_pending.wake_launcher = true;
}

}  // namespace ivmx::pg
