// Batching of the changes made by one outermost statement.
//
// A single statement can change several base tables of one IMMV, or one table
// several times (a writable CTE, INSERT ... ON CONFLICT, an ON DELETE CASCADE
// foreign key, a trigger writing another table). Every AFTER STATEMENT
// trigger then sees all tables in their final state, so maintaining per
// trigger would count the cross terms of the changes twice. The capture
// triggers therefore count statements in flight (BEFORE STATEMENT +1, AFTER
// STATEMENT -1); the changes of all but the last finishing statement are
// copied aside, and the last one applies them all as one delta.
#pragma once

#include <string>
#include <vector>

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// A BEFORE STATEMENT capture trigger fired.
void StatementStarted();

// An AFTER STATEMENT capture trigger fired; returns true if no other
// statement that changes base tables is still in flight (the caller applies
// the batch now).
bool StatementFinished();

// Whether a statement is in flight (a TRUNCATE must not run inside one).
bool StatementsInFlight();

// Copies a finished statement's transition tables aside (either may be
// null; their rows in the columns of rows_desc, converted to relid's)
// until they are applied: at the end of the outermost statement, or,
// in a transaction block, before commit (extension/transaction_changes.hpp).
// A subtransaction that aborts takes its saved changes with it; changes
// applied inside a subtransaction that aborts are pending again.
void SaveChange(Oid relid, Tuplestorestate* inserted, Tuplestorestate* deleted, TupleDesc rows_desc);

// Records that relid was truncated (the IMMVs reading it are recomputed
// when the saved changes are applied), with SaveChange's rules.
void SaveTruncation(Oid relid);

// A saved change not yet applied.
struct PendingChange {
    Oid relid;
    Tuplestorestate* inserted;  // may be null
    Tuplestorestate* deleted;
    bool truncated = false;  // the relation was truncated (no rows)
};

// The changes saved and not yet applied, in the order they were made; they
// count as applied from now on (by the current subtransaction).
std::vector<PendingChange> TakePendingChanges();

// TakePendingChanges without the truncations (they stay pending: only
// ApplyPendingChanges recomputes IMMVs for them), the tuplestores
// registered with the current SPI connection as ephemeral named relations.
struct BatchedChange {
    Oid relid;
    std::string inserted;  // quoted ENR name, or empty
    std::string deleted;
};
std::vector<BatchedChange> TakeSavedChanges();

// Registers the changes' rows (truncations left out) like TakeSavedChanges.
std::vector<BatchedChange> RegisterChanges(const std::vector<PendingChange>& changes);

// Registers a tuplestore of relid's rows with the current SPI connection
// under `name` (unquoted); returns the quoted name, or "" for null.
std::string RegisterChangedRows(Tuplestorestate* rows, Oid relid, const std::string& name);

bool HasSavedChanges();

// IMMVs that saved changes will change when applied (the reader of an IMMV
// applies them first). Kept until the transaction ends; a superset.
void NoteStaleImmv(Oid immv);
bool IsStaleImmv(Oid immv);

// Registers the transaction callbacks that discard state of aborted
// (sub)transactions (from _PG_init).
void RegisterStatementBatchCallbacks();

}  // namespace ivmx::pg
