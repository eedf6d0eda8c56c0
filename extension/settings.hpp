// pg_ivmx's configuration parameters (ivmx.* in postgresql.conf).
#pragma once

#include "catalog.hpp"

namespace ivmx::pg {

// Defines every ivmx.* parameter (from _PG_init).
void DefineSettings();

MaintenanceMode DefaultMode();  // ivmx.default_mode
bool SchedulerEnabled();        // ivmx.enabled
int NaptimeMs();                // ivmx.naptime
int MaxBatchRows();             // ivmx.max_batch_rows
double FullRefreshRatio();      // ivmx.full_refresh_ratio
int MaxRetryIntervalMs();       // ivmx.max_retry_interval
bool LogRefreshes();            // ivmx.log_refreshes
int HistoryLimit();             // ivmx.history_limit
int RefreshDelayMs();           // ivmx.refresh_delay
int MaxWorkersPerDatabase();    // ivmx.max_workers_per_database
int RefreshWarnTimeMs();        // ivmx.refresh_warn_time (0: off)

// Upper bound of ivmx.max_workers_per_database (the launcher keeps that many
// scheduler workers per database at most).
inline constexpr int kMaxWorkersPerDatabaseLimit = 16;

}  // namespace ivmx::pg
