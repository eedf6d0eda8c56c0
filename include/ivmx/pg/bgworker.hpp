// The door to the server headers that background workers need: workers and
// their signals, shared memory, LWLocks, latches, atomics, pg_database and
// pg_stat_activity reporting.
//
// Kept apart from postgres.hpp so that only scheduler/ (and the few calls
// into it from extension/) see these headers. postgres.hpp comes first: it
// opens the door and undoes the port macros that clash with the C++ library.
#pragma once

#include "ivmx/pg/postgres.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/backend_status.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}
