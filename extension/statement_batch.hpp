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

// Copies a finished statement's transition tables aside (either may be null).
void SaveChange(Oid relid, Tuplestorestate* inserted, Tuplestorestate* deleted);

// The changes saved so far, registered with the current SPI connection as
// ephemeral named relations; the saved list is emptied.
struct BatchedChange {
    Oid relid;
    std::string inserted;  // quoted ENR name, or empty
    std::string deleted;
};
std::vector<BatchedChange> TakeSavedChanges();

bool HasSavedChanges();

// Registers the transaction callbacks that discard state of aborted
// (sub)transactions (from _PG_init).
void RegisterStatementBatchCallbacks();

}  // namespace ivmx::pg
