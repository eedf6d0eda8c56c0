// pg_ivmx's configuration parameters (ivmx.* in postgresql.conf).
#pragma once

#include "catalog.hpp"

namespace ivmx::pg {

// Defines every ivmx.* parameter (from _PG_init).
void DefineSettings();

MaintenanceMode DefaultMode();        // ivmx.default_mode
bool SchedulerEnabled();              // ivmx.enabled
int NaptimeMs();                      // ivmx.naptime
int MaxBatchRows();                   // ivmx.max_batch_rows
double FullRefreshRatio();            // ivmx.full_refresh_ratio
int MaxRetryIntervalMs();             // ivmx.max_retry_interval
bool LogRefreshes();                  // ivmx.log_refreshes
int HistoryLimit();                   // ivmx.history_limit
int RefreshDelayMs();                 // ivmx.refresh_delay

}  // namespace ivmx::pg
