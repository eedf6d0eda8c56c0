// pg_ivmx's configuration parameters (see extension/settings.hpp). Scheduler
// settings are PGC_SIGHUP: they change with pg_reload_conf() (or ALTER SYSTEM
// followed by it) without a restart.
#include "settings.hpp"

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

namespace {

int g_default_mode = static_cast<int>(MaintenanceMode::Immediate);
bool g_enabled = true;
int g_naptime_ms = 1000;
int g_max_batch_rows = 100000;
double g_full_refresh_ratio = 0.2;
int g_max_retry_interval_ms = 5 * 60 * 1000;
bool g_log_refreshes = false;
int g_history_limit = 1000;
int g_refresh_delay_ms = 100;
int g_max_workers_per_database = 2;
int g_refresh_warn_time_ms = 10000;

const struct config_enum_entry kModeOptions[] = {
    {"immediate", static_cast<int>(MaintenanceMode::Immediate), false},
    {"deferred", static_cast<int>(MaintenanceMode::Deferred), false},
    {nullptr, 0, false},
};

}  // namespace

void DefineSettings() {
    DefineCustomEnumVariable("ivmx.default_mode", "Maintenance mode of IMMVs created without an explicit mode.",
                             "immediate: maintained by the writing statement; deferred: maintained in batches by the "
                             "background scheduler.",
                             &g_default_mode, static_cast<int>(MaintenanceMode::Immediate), kModeOptions, PGC_USERSET,
                             0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("ivmx.enabled", "Whether the schedulers refresh deferred IMMVs.",
                             "When off, changes keep being logged and ivmx.flush() still works.", &g_enabled, true,
                             PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ivmx.naptime", "Longest sleep of a scheduler between rounds.",
                            "A committing writer of deferred changes wakes the scheduler sooner.", &g_naptime_ms, 1000,
                            10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ivmx.max_batch_rows", "Log rows consumed by one refresh transaction of a deferred IMMV.",
                            "A larger backlog is drained over several transactions.", &g_max_batch_rows, 100000, 1,
                            INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable("ivmx.full_refresh_ratio",
                             "Delta to base-data ratio above which a refresh recomputes the IMMV.",
                             "0 disables full recomputes chosen by size.", &g_full_refresh_ratio, 0.2, 0.0, 1000.0,
                             PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ivmx.max_retry_interval",
                            "Longest wait before retrying a deferred IMMV whose refresh failed.",
                            "Retries back off exponentially up to this interval.", &g_max_retry_interval_ms,
                            5 * 60 * 1000, 100, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ivmx.refresh_delay", "Shortest time between two rounds of a scheduler.",
                            "Changes committed meanwhile are applied together; 0 refreshes after "
                            "every commit.",
                            &g_refresh_delay_ms, 100, 0, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
                            nullptr);
    DefineCustomIntVariable(
        "ivmx.max_workers_per_database", "Scheduler workers kept running per database with pg_ivmx.",
        "They share the database's deferred IMMVs: a slow refresh on one "
        "does not hold up the others. Each takes a background worker "
        "(max_worker_processes); the launcher adjusts their number at a "
        "configuration reload.",
        &g_max_workers_per_database, 2, 1, kMaxWorkersPerDatabaseLimit, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ivmx.refresh_warn_time", "Scheduled refreshes taking longer are logged and counted.",
                            "Counted in ivmx.immv_status.slow_refreshes; lock waits included. "
                            "0 disables.",
                            &g_refresh_warn_time_ms, 10000, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
                            nullptr);
    DefineCustomBoolVariable("ivmx.log_refreshes", "Logs every refresh with its timing.", nullptr, &g_log_refreshes,
                             false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("ivmx.history_limit", "Rows of ivmx.refresh_history kept per IMMV.", nullptr,
                            &g_history_limit, 1000, 0, INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("ivmx");
}

MaintenanceMode DefaultMode() {
    return static_cast<MaintenanceMode>(g_default_mode);
}
bool SchedulerEnabled() {
    return g_enabled;
}
int NaptimeMs() {
    return g_naptime_ms;
}
int MaxBatchRows() {
    return g_max_batch_rows;
}
double FullRefreshRatio() {
    return g_full_refresh_ratio;
}
int MaxRetryIntervalMs() {
    return g_max_retry_interval_ms;
}
bool LogRefreshes() {
    return g_log_refreshes;
}
int HistoryLimit() {
    return g_history_limit;
}
int RefreshDelayMs() {
    return g_refresh_delay_ms;
}
int MaxWorkersPerDatabase() {
    return g_max_workers_per_database;
}
int RefreshWarnTimeMs() {
    return g_refresh_warn_time_ms;
}

}  // namespace ivmx::pg
