// pg_ivmx module entry: _PG_init (parameters, hooks, callbacks) and the
// check that the library was preloaded.
#include "../scheduler/workers.hpp"
#include "ivmx/pg/guards.hpp"
#include "maintainer.hpp"
#include "settings.hpp"
#include "statement_batch.hpp"
#include "transaction_changes.hpp"
#include "utility_hook.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
PG_FUNCTION_INFO_V1(ivmx_check_preloaded);
Datum ivmx_check_preloaded(PG_FUNCTION_ARGS);
}

namespace ivmx::pg {
namespace {
bool g_preloaded = false;
}  // namespace
}  // namespace ivmx::pg

void _PG_init(void) {
    ivmx::pg::g_preloaded = process_shared_preload_libraries_in_progress;
    ivmx::pg::DefineSettings();
    ivmx::pg::RegisterMaintainerCache();
    ivmx::pg::InstallUtilityHook();
    ivmx::pg::RegisterStatementBatchCallbacks();
    ivmx::pg::InstallTransactionHooks();
    ivmx::pg::InstallBackgroundWorkers();  // only when preloaded: shared memory, launcher
}

// Called first by the install script: the extension needs the library in
// shared_preload_libraries (for its background workers and shared memory).
Datum ivmx_check_preloaded(PG_FUNCTION_ARGS) {
    if (!ivmx::pg::g_preloaded)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("pg_ivmx must be loaded via shared_preload_libraries"),
                        errhint("Add pg_ivmx to shared_preload_libraries in postgresql.conf "
                                "(ALTER SYSTEM SET shared_preload_libraries = 'pg_ivmx') and restart the "
                                "server.")));
    PG_RETURN_VOID();
}
