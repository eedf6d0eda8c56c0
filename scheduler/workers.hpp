// What the rest of the extension calls in scheduler/: installing the
// background-worker plumbing from _PG_init, the DDL reactions of the
// ProcessUtility hook, and the wake-up a writer of delta logs asks for.
#pragma once

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Installs the shared-memory hooks, registers the launcher and the
// transaction callback that delivers wake-ups at commit. Does nothing unless
// shared_preload_libraries is being processed. Call from _PG_init.
void InstallBackgroundWorkers();

// From the ProcessUtility hook, before standard processing: a command that
// needs a database without other sessions (DROP DATABASE, ALTER DATABASE
// RENAME / SET TABLESPACE, CREATE DATABASE ... TEMPLATE) first stops the
// schedulers attached to it and keeps the launcher from restarting them
// until the transaction ends. May wait up to a few seconds. C-shaped: call it
// directly from the hook, not from a C++ frame with live objects.
void SchedulerBeforeUtility(Node* parsetree);

// From the ProcessUtility hook, after standard processing succeeded: notes
// what the schedulers must learn when the transaction commits (CREATE or
// DROP EXTENSION pg_ivmx, CREATE DATABASE).
void SchedulerAfterUtility(Node* parsetree);

// Marks that the current transaction logged changes for deferred IMMVs:
// when it commits, the database's schedulers are woken (see WakeScheduler).
void NoteDeferredChange();

}  // namespace ivmx::pg
