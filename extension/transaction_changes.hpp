// Immediate maintenance at transaction scope.
//
// A transaction's only write (a lone INSERT, UPDATE, DELETE, MERGE or COPY
// outside a transaction block) is applied to the immediate IMMVs at the end
// of its statement, as the capture triggers run. Every other write (inside
// a transaction block, a function, a procedure or a DO block, or a write
// that comes with others: a writable CTE, a trigger's write) only saves its
// changes (extension/statement_batch.hpp); they are netted per IMMV and
// applied once, just before the transaction commits (or is prepared), with
// the IMMVs locked in one order for every transaction (LockOrderBefore:
// dependency depth, then how many writers their locks hold up, then OID). Two transactions
// writing the same tables in different orders therefore never deadlock on
// IMMV locks.
//
// A transaction still sees its own changes: a query reading an IMMV that
// saved changes will change (directly, through a view, an inlined
// function, a subquery of a write) applies every saved change first
// (ExecutorStart hook); so do pg_ivmx's functions, TRUNCATE and COPY TO.
// Errors of maintenance surface at the latest at COMMIT.
#pragma once

#include <vector>

#include "maintainer.hpp"
#include "statement_batch.hpp"

namespace ivmx::pg {

// Applies every saved change now: nothing if there is none, or if a
// statement that changes base tables is still in flight (its changes are
// not complete yet). SPI need not be connected; a snapshot is taken if none
// is active. The changes are visible to the next command.
void ApplyPendingChanges();

// The lock step of changes of several relations applied at once (see
// LoadedMaintenance in extension/maintainer.hpp): loads the maintenance of
// every changed relation and takes every lock applying `changes` needs:
// AccessShareLock on every relation the IMMVs involved read, then the
// writer locks of every active immediate IMMV reading a changed relation
// and, when one of those is read by other IMMVs, of every immediate IMMV
// its maintenance changes in turn; all in lock order, without waiting while
// holding any of them (LockAllOrWait). Loads again and takes the locks
// again when an invalidation arrived while waiting. Once it returns, the
// maintenance of the changed relations is loaded, valid, and cannot change
// modes.
// With may_wait false, waits for none of the locks: false when some are
// busy (none of them is then held).
bool LockMaintenanceForChanges(const std::vector<BatchedChange>& changes, bool may_wait = true);

// Applies `changes` to every active immediate IMMV reading them, in
// dependency order, each IMMV once from all the changes of everything it
// reads; the changes its maintenance makes to IMMVs that other IMMVs read
// are applied too. The caller has taken the locks for `changes` first
// (LockMaintenanceForChanges, or the same locks at commit). SPI connected,
// under WithMaintenanceSettings.
void ApplyLockedChanges(std::vector<BatchedChange> changes);

// Marks the immediate IMMVs of a base relation's maintenance, and those
// reading them, as changed by the transaction's saved changes (a query
// reading one applies them first).
void NoteStaleReaders(const RelationMaintenance& maintenance);

// Installs the pre-commit callback and the ExecutorStart hook (_PG_init).
void InstallTransactionHooks();

}  // namespace ivmx::pg
